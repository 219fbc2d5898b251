using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Load;

/// <summary>
/// The receiving end of baseline 2, run as its own process: Kestrel with the gateway's endpoint settings (HTTP/2,
/// TLS 1.3, client certificate required and chain-validated against the sender's root) serving the Federation
/// Exchange contract, acking every envelope at once: no open, verify, policy or storage.
/// </summary>
internal static class GrpcSink
{
    /// <summary><c>sink &lt;port&gt; &lt;cert&gt; &lt;key&gt; &lt;client-root&gt; &lt;client-domain&gt; &lt;client-pin&gt;</c>.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 6)
        {
            await Console.Error.WriteLineAsync("usage: sink <port> <cert.pem> <key.pem> <client-root.pem> <client-domain> <client-root-pin>");
            return 2;
        }

        var port = int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
        using var certificate = PemFiles.LoadCertificateWithKey(args[1], args[2]);
        using var clientRoot = PemFiles.LoadCertificate(args[3]);
        var validator = new ChainValidator([new TrustAnchor(args[4], clientRoot, args[5])]);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 64 * 1024 * 1024;
            o.MaxSendMessageSize = 64 * 1024 * 1024;
        });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(System.Net.IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(https =>
                {
                    https.SslProtocols = SslProtocols.Tls13;
                    https.ServerCertificate = certificate;
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.CheckCertificateRevocation = false;
                    https.ClientCertificateValidation = (cert, _, _) => validator.Validate(cert, null, CertificatePurpose.Client).IsValid;
                });
            });
        });
        var app = builder.Build();
        app.MapGrpcService<SinkService>();
        await app.RunAsync();
        return 0;
    }

    /// <summary>Acks each envelope as soon as it is read.</summary>
    internal sealed class SinkService : Federation.FederationBase
    {
        public override async Task Exchange(IAsyncStreamReader<ExchangeRequest> requestStream, IServerStreamWriter<ExchangeResponse> responseStream, ServerCallContext context)
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                if (request.KindCase == ExchangeRequest.KindOneofCase.Envelope)
                {
                    await responseStream.WriteAsync(new ExchangeResponse
                    {
                        Ack = new Ack { EnvelopeId = request.Envelope.Header, Status = AckStatus.Accepted },
                    });
                }
            }
        }
    }
}
