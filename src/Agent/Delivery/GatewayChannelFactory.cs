using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Crypto;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Delivery;

/// <summary>
/// Builds the mTLS gRPC channel to the gateway: TLS 1.3 only, the agent's certificate as client
/// certificate, and the gateway's certificate accepted only when it chains to the own domain's
/// pinned root (never the OS store) and names spiffe://&lt;own-domain&gt;/gateway/&lt;name&gt;
/// (or exactly the configured gateway id).
/// </summary>
internal static class GatewayChannelFactory
{
    /// <summary>
    /// Creates the channel; throws <see cref="AgentConfigException"/> when the TLS files are unusable. The gateway's
    /// certificate is checked against the roots <paramref name="trust"/> holds at each handshake, so a root accepted from
    /// a trust bundle applies to the next connection. With <paramref name="bundleOnly"/> the server certificate is not
    /// checked at all: that channel is used for nothing but Ingest.GetTrustBundle, whose answer is authenticated by the
    /// domain's root signatures (<see cref="AgentTrust.Offer"/>), never by the connection that carried it.
    /// </summary>
    public static GrpcChannel Create(AgentSettings settings, AgentTrust trust, ILogger logger, bool bundleOnly = false)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(logger);
        X509Certificate2 clientCert;
        X509Certificate2Collection intermediates;
        try
        {
            clientCert = PemFiles.LoadCertificateWithKey(settings.CertificatePath, settings.KeyPath);
            var all = PemFiles.LoadCertificates(settings.CertificatePath);
            intermediates = [.. all.Skip(1)];
        }
        catch (Exception ex) when (ex is CryptoFormatException or ArgumentException or IOException or System.Security.Cryptography.CryptographicException)
        {
            throw new AgentConfigException("tls: " + ex.Message, ex);
        }

        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // Send the intermediates with the leaf (an agent cert may be issued by an intermediate CA).
                ClientCertificateContext = SslStreamCertificateContext.Create(clientCert, intermediates, offline: true),
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = bundleOnly
                    ? (_, _, _, _) => true
                    : (_, certificate, chain, _) => Check(certificate, chain, trust, settings, logger),
            },
            EnableMultipleHttp2Connections = false,
            // gateway.keepalive: a black-holed connection fails the open Ingest stream after interval + timeout.
            KeepAlivePingDelay = settings.KeepaliveInterval,
            KeepAlivePingTimeout = settings.KeepaliveTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        return GrpcChannel.ForAddress(settings.GatewayAddress, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxSendMessageSize = 4 * 1024 * 1024,
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        });
    }

    /// <summary>The server-certificate decision, separate for tests.</summary>
    internal static bool Check(X509Certificate? certificate, X509Chain? chain, AgentTrust trust, AgentSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(trust);
        if (certificate is null)
        {
            AgentLog.GatewayCertificateRejected(logger, "no certificate presented");
            return false;
        }

        using var leaf = new X509Certificate2(certificate);
        var intermediates = new X509Certificate2Collection();
        if (chain is not null)
        {
            intermediates.AddRange(chain.ChainPolicy.ExtraStore);
        }

        var result = trust.Validator.Validate(leaf, intermediates, CertificatePurpose.Server);
        if (!result.IsValid || result.Id is not { } id)
        {
            trust.NoteRejection(result.Rejection, result.Reason);
            AgentLog.GatewayCertificateRejected(logger, result.Reason);
            return false;
        }

        if (id.TrustDomain != settings.TrustDomain || id.Kind != WorkloadKind.Gateway)
        {
            var reason = $"{id} is not a gateway of {settings.TrustDomain}";
            trust.NoteRejection(ChainRejection.WrongWorkloadKind, reason);
            AgentLog.GatewayCertificateRejected(logger, reason);
            return false;
        }

        if (settings.ExpectedGatewayId is { } expected && !string.Equals(id.ToString(), expected, StringComparison.Ordinal))
        {
            var reason = $"{id} is not the configured gateway {expected}";
            trust.NoteRejection(ChainRejection.WrongWorkloadKind, reason);
            AgentLog.GatewayCertificateRejected(logger, reason);
            return false;
        }

        trust.NoteAccepted(id);
        return true;
    }
}
