using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace CyberCoop.Gateway.Demo;

/// <summary>
/// A sensor agent of the demo: a real Ingest client over mutual TLS 1.3 with its own agent
/// certificate, trusting only its nation's pinned root and the gateway id it was configured with,
/// sending batches with fresh batch ids and reading one result per batch, as <c>agent run</c> does.
/// </summary>
internal sealed class DemoAgent : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2 _root;
    private readonly AsyncDuplexStreamingCall<IngestBatch, IngestResult> _call;
    private readonly TimeProvider _time;

    private DemoAgent(string name, string nation, GrpcChannel channel, X509Certificate2 certificate, X509Certificate2 root, TimeProvider time)
    {
        Name = name;
        Nation = nation;
        _channel = channel;
        _certificate = certificate;
        _root = root;
        _time = time;
        _call = new Contracts.V1.Ingest.IngestClient(channel).Submit();
    }

    /// <summary>Agent name (the last part of its SPIFFE id).</summary>
    public string Name { get; }

    /// <summary>Trust domain of its nation.</summary>
    public string Nation { get; }

    /// <summary>Connects the agent made by <see cref="DevFederation"/> to its gateway.</summary>
    public static DemoAgent Connect(DevNode node, DevAgent agent, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(agent);
        var certificate = PemFiles.LoadCertificateWithKey(agent.Certificate, agent.Key);
        var root = PemFiles.LoadCertificate(node.RootCertificate);
        var validator = new ChainValidator([new TrustAnchor(node.TrustDomain, root, SpkiPin.Compute(root))], time: time);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [certificate],
                // Like the agent: only the own domain's pinned root, and only the configured gateway.
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    presented is X509Certificate2 server
                    && validator.Validate(server, null, CertificatePurpose.Server) is { IsValid: true } result
                    && string.Equals(result.Id?.ToString(), node.Id, StringComparison.Ordinal),
            },
        };
        var channel = GrpcChannel.ForAddress(node.Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        return new DemoAgent(agent.Name, node.TrustDomain, channel, certificate, root, time);
    }

    /// <summary>Sends one batch and waits for the gateway's per-item result.</summary>
    public async Task<IngestResult> SendAsync(IReadOnlyList<DemoDetection> detections, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)) };
        foreach (var detection in detections)
        {
            var sighting = new Sighting
            {
                Type = detection.Type,
                Value = detection.Value,
                Tlp = detection.Tlp,
                Confidence = detection.Confidence,
                ObservedAt = Timestamp.FromDateTimeOffset(now.AddSeconds(-RandomNumberGenerator.GetInt32(5, 600))),
                ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(30)),
                Sensor = detection.Sensor,
                Count = (uint)RandomNumberGenerator.GetInt32(1, 40),
                Description = detection.Signature,
            };
            sighting.Tags.Add(detection.Tags);
            sighting.Context["signature"] = detection.Signature;
            if (detection.InternalHost.Length > 0)
            {
                sighting.Context["internal_host"] = detection.InternalHost;
            }

            batch.Sightings.Add(sighting);
        }

        await _call.RequestStream.WriteAsync(batch, ct).ConfigureAwait(false);
        if (!await _call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"gateway of {Nation} closed the ingest stream of agent {Name} without a result");
        }

        return _call.ResponseStream.Current;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
            while (await _call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false))
            {
                // Drain until the gateway closes its side.
            }
        }
        catch (RpcException)
        {
            // The gateway may already be stopping.
        }
        catch (InvalidOperationException)
        {
            // The stream was never started or already completed.
        }

        _call.Dispose();
        _channel.Dispose();
        _certificate.Dispose();
        _root.Dispose();
    }
}
