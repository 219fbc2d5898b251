using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf;
using Grpc.Net.Client;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>Submits one sighting to a gateway over mutual TLS, as an agent with the given certificate would.</summary>
internal static class AgentClient
{
    public static async Task<ItemOutcome> IngestAsync(string address, string rootPath, string certificatePath, string keyPath, string domain)
    {
        using var channel = Connect(address, rootPath, certificatePath, keyPath);
        using var call = new CyberCoop.Contracts.V1.Ingest.IngestClient(channel).Submit(deadline: DateTime.UtcNow.AddSeconds(20), cancellationToken: TestContext.Current.CancellationToken);
        await call.RequestStream.WriteAsync(Batch(domain), TestContext.Current.CancellationToken);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        return call.ResponseStream.Current.Items.Single().Outcome;
    }

    /// <summary>A channel to the gateway with the agent's certificate, trusting only the domain root (the caller disposes it).</summary>
    public static GrpcChannel Connect(string address, string rootPath, string certificatePath, string keyPath)
    {
        var client = PemFiles.LoadCertificateWithKey(certificatePath, keyPath);
        using var root = PemFiles.LoadCertificate(rootPath);
        var anchor = TrustAnchor.FromRoot(root);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [client],
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    new ChainValidator([anchor]).Validate(presented as X509Certificate2, null, CertificatePurpose.Server).IsValid,
            },
        };
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    /// <summary>AMBER domain sightings "&lt;prefix&gt;-&lt;i&gt;.example" for i in [from, from + count), in a batch with a fresh id.</summary>
    public static IngestBatch Domains(string prefix, int from, int count)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
        for (var i = from; i < from + count; i++)
        {
            batch.Sightings.Add(new Sighting { Type = IndicatorType.Domain, Value = $"{prefix}-{i}.example", Tlp = Tlp.Amber, Confidence = 80 });
        }

        return batch;
    }

    /// <summary>One AMBER domain sighting in a batch with a fresh id.</summary>
    public static IngestBatch Batch(string domain)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
        batch.Sightings.Add(new Sighting { Type = IndicatorType.Domain, Value = domain, Tlp = Tlp.Amber, Confidence = 80 });
        return batch;
    }
}
