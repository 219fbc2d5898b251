using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Gateway.Cli.Peers;

/// <summary>
/// Connects to a peer's TLS endpoint and records the certificates it presents. Nothing is trusted
/// here: the caller pins the root the operator confirmed, then checks the leaf against it.
/// </summary>
internal static class PeerRootFetcher
{
    /// <summary>How long connecting and the handshake may take.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The peer's leaf certificate and every other certificate it sent in its chain.</summary>
    public static async Task<PresentedChain> FetchAsync(Uri address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(address.IdnHost, address.Port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"cannot connect to {address.GetLeftPart(UriPartial.Authority)}: {ex.Message}");
        }

        X509Certificate2? leaf = null;
        var others = new List<X509Certificate2>();
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = address.IdnHost,
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                if (certificate is not null)
                {
                    leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                }

                if (chain is not null)
                {
                    foreach (var extra in chain.ChainPolicy.ExtraStore)
                    {
                        others.Add(X509CertificateLoader.LoadCertificate(extra.RawData));
                    }
                }

                // Only looking: the handshake is abandoned right after, whatever the peer thinks of us.
                return true;
            },
        };

        var stream = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                await stream.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (leaf is null)
                {
                    throw new CliException($"TLS handshake with {address.GetLeftPart(UriPartial.Authority)} failed before it presented a certificate: {ex.Message}");
                }
            }
        }

        if (leaf is null)
        {
            throw new CliException($"{address.GetLeftPart(UriPartial.Authority)} presented no certificate");
        }

        return new PresentedChain(leaf, others);
    }
}

/// <summary>What a peer presented in its TLS handshake.</summary>
/// <param name="Leaf">Its own certificate.</param>
/// <param name="Others">Intermediates and (when sent) its root.</param>
internal sealed record PresentedChain(X509Certificate2 Leaf, IReadOnlyList<X509Certificate2> Others) : IDisposable
{
    /// <summary>The self-signed CA certificate in the chain, if the peer sent one.</summary>
    public X509Certificate2? FindRoot() =>
        Others.FirstOrDefault(c => c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData)
            && c.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority));

    /// <inheritdoc />
    public void Dispose()
    {
        Leaf.Dispose();
        foreach (var certificate in Others)
        {
            certificate.Dispose();
        }
    }
}
