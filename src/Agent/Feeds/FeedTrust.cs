using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Agent.Configuration;
using CyberCoop.Crypto;

namespace CyberCoop.Agent.Feeds;

/// <summary>
/// The HTTPS client of a feed source. The server certificate is always validated, chain and host name: against the
/// system store, or, with <c>caFile</c>, against those CAs only (custom root trust: the system store is then not
/// consulted). There is no switch to turn validation off.
/// </summary>
internal static class FeedTrust
{
    /// <summary>Loads the CA file; false with the reason when it holds no usable certificate.</summary>
    public static bool TryLoad(string caFile, out X509Certificate2Collection? roots, out string? problem)
    {
        try
        {
            roots = PemFiles.LoadCertificates(caFile);
            problem = null;
            return true;
        }
        catch (Exception ex) when (ex is CryptoFileException or IOException or UnauthorizedAccessException)
        {
            roots = null;
            problem = ex.Message;
            return false;
        }
    }

    /// <summary>An HttpClient for <paramref name="feed"/>: its timeout, decompression, at most 5 redirects (never https to http).</summary>
    public static HttpClient CreateClient(FeedSettings feed)
    {
        ArgumentNullException.ThrowIfNull(feed);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = feed.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
            MaxAutomaticRedirections = 5,
            UseCookies = false,
            SslOptions = new SslClientAuthenticationOptions(),
        };
        if (feed.CaFile is not null)
        {
            if (!TryLoad(feed.CaFile, out var roots, out var problem))
            {
                throw new InvalidDataException($"caFile '{feed.CaFile}': {problem}");
            }

            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(roots!);
            handler.SslOptions.CertificateChainPolicy = policy;
        }

        return new HttpClient(handler) { Timeout = feed.Timeout };
    }
}
