using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using Grpc.Net.Client;

namespace CyberCoop.Gateway.Outbound;

/// <summary>
/// Opens mutual-TLS gRPC channels to peers: TLS 1.3 only, this node's certificate as client
/// certificate, and the peer's server certificate accepted only when it chains to the pinned root
/// of the peer's own domain and names exactly the configured peer id. Never the OS trust store.
/// </summary>
internal static class PeerChannelFactory
{
    /// <summary>Largest message accepted from a peer.</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Creates a channel to <paramref name="peer"/>; the caller disposes it. <paramref name="accepted"/> receives each
    /// server certificate accepted in a handshake (so a later revocation can close the connection).
    /// </summary>
    public static GrpcChannel Create(ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, PeerSettings peer, Action<X509Certificate2>? accepted = null)
    {
        var keepalive = trustSnapshot.Current.Config.Config.Node.Keepalive;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            // node.keepalive: a black-holed connection fails the open Exchange stream after interval + timeout.
            KeepAlivePingDelay = keepalive.Interval,
            KeepAlivePingTimeout = keepalive.Timeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [nodeIdentity.Current.Certificate],
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    var server = certificate as X509Certificate2;
                    if (!IsExpectedPeer(trustSnapshot, peer, server))
                    {
                        return false;
                    }

                    accepted?.Invoke(server!);
                    return true;
                },
            },
        };
        return GrpcChannel.ForAddress(peer.Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
        });
    }

    private static bool IsExpectedPeer(ITrustSnapshot trustSnapshot, PeerSettings peer, X509Certificate2? certificate)
    {
        var result = trustSnapshot.Current.Validator.Validate(certificate, null, CertificatePurpose.Server);
        return result.IsValid && result.Id == peer.Id;
    }
}
