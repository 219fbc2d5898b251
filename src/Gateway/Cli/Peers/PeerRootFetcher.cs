using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace CyberCoop.Gateway.Cli.Peers;

/// <summary>
/// Connects to a peer gateway over mutual TLS (presenting this node's own gateway certificate) and reads its
/// signed trust bundle with GetTrustBundle, recording the certificate the peer presented in the handshake.
/// The root cannot come from the TLS chain itself: .NET TLS servers leave the self-signed root out of it.
/// Nothing is trusted here: <see cref="PeerRootSelection"/> pins the root the operator confirmed and checks the
/// peer's certificate against it.
/// </summary>
internal static class PeerRootFetcher
{
    /// <summary>How long connecting, the handshake and the call may take.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest trust bundle accepted.</summary>
    public const int MaxBundleBytes = 4 * 1024 * 1024;

    /// <summary>The peer's TLS certificate and its trust bundle.</summary>
    public static async Task<PeerOffer> FetchAsync(Uri address, X509Certificate2 clientCertificate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(clientCertificate);
        var authority = address.GetLeftPart(UriPartial.Authority);
        X509Certificate2? leaf = null;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = Timeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [clientCertificate],
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    // Only recorded: the request carries nothing secret, and the certificate is checked afterwards
                    // against the root the operator pins.
                    if (certificate is not null && leaf is null)
                    {
                        leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    }

                    return certificate is not null;
                },
            },
        };

        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxBundleBytes,
        });
        var client = new Contracts.V1.Federation.FederationClient(channel);
        SignedTrustBundle signed;
        try
        {
            signed = await client.GetTrustBundleAsync(new GetTrustBundleRequest(), deadline: DateTime.UtcNow + Timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var presented = leaf is not null;
            leaf?.Dispose();
            throw ex.StatusCode switch
            {
                StatusCode.PermissionDenied => new CliException($"{authority} refused to serve its trust bundle to this node's certificate: {ex.Status.Detail}"),
                StatusCode.DeadlineExceeded => new CliException($"{authority} did not answer within {Timeout.TotalSeconds:0} s"),
                _ when !presented => new CliException($"cannot connect to {authority}: {ex.Status.Detail}"),
                StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown => new CliException(
                    $"{authority} ended the connection after presenting its certificate (it may refuse this node's certificate, or not be a CyberCoop gateway): {ex.Status.Detail}"),
                _ => new CliException($"could not read the trust bundle of {authority} ({ex.StatusCode}): {ex.Status.Detail}"),
            };
        }

        if (leaf is null)
        {
            throw new CliException($"{authority} presented no certificate");
        }

        return new PeerOffer(leaf, signed);
    }
}

/// <summary>What a peer offered: its TLS certificate and its signed trust bundle.</summary>
/// <param name="Leaf">The certificate it presented in the TLS handshake.</param>
/// <param name="Bundle">Its signed trust bundle as served by GetTrustBundle.</param>
internal sealed record PeerOffer(X509Certificate2 Leaf, SignedTrustBundle Bundle) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Leaf.Dispose();
}
