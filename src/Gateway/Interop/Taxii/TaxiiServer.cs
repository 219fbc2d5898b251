using System.Net;
using System.Security.Authentication;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// The TAXII 2.1 server: its own Kestrel on <c>taxii.listen</c> (HTTPS, TLS 1.2/1.3, HTTP/1.1 and 2, the node's
/// certificate, client certificates optional and checked per request). Started and stopped with the node.
/// </summary>
internal sealed partial class TaxiiServer(TaxiiConfig config, TaxiiRequestHandler handler, INodeIdentitySource identitySource, ConnectionBudget budget, ILogger<TaxiiServer> log) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _log = log;
    private WebApplication? _app;

    /// <summary>The bound port (the configured one, or the one chosen for port 0).</summary>
    public int Port { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        GatewayConfigValidator.TryParseListen(config.Listen, out var endpoint);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = TaxiiRequestHandler.MaxContentLength;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                // First, before TLS: the node's connection budget covers this listener too.
                listen.Use(next => connection => budget.OnTlsConnectionAsync(connection, next));
                listen.UseHttps(https =>
                {
                    https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                    https.ServerCertificateSelector = (_, _) => identitySource.Current.Certificate;
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.CheckCertificateRevocation = false;
                    // Accepted at the handshake so a refused certificate gets a TAXII error body; every request
                    // validates it (chain to this domain's root, revocations, analyst kind) before anything is served.
                    https.ClientCertificateValidation = (_, _, _) => true;
                });
                listen.Use(next => connection => budget.OnHandshakeDoneAsync(connection, next));
            });
        });
        var app = builder.Build();
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        Port = GatewayNode.BoundPort(app, endpoint, "https://");
        if (Port == 0)
        {
            throw new InvalidOperationException("the TAXII listener has no TCP address");
        }

        Listening(_log, endpoint.Address, Port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "TAXII 2.1 server listening on https://{Address}:{Port}/taxii2/")]
    private static partial void Listening(ILogger logger, IPAddress address, int port);
}
