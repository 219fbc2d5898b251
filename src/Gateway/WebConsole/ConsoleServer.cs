using System.Net;
using System.Reflection;
using System.Security.Authentication;
using System.Security.Claims;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// The operator web console: its own Kestrel on <c>console.listen</c>, started and stopped with the node. HTTPS with the
/// node's certificate and operator client certificates checked on every request (or plain HTTP on loopback when
/// <c>console.loopbackOnly</c>); server-rendered pages, a strict Content-Security-Policy (scripts and styles only from
/// the console's own embedded assets, nothing fetched from elsewhere), antiforgery tokens on every action.
/// </summary>
internal sealed partial class ConsoleServer(
    ConsoleConfig config, ConsolePages pages, ConsoleAuthenticator authenticator, ConsoleThroughput throughput, INodeIdentitySource identitySource,
    IStoreHealth store, ConnectionBudget budget, TimeProvider time, ILogger<ConsoleServer> log) : IHostedService, IAsyncDisposable
{
    /// <summary>Key of the authenticated <see cref="ConsoleCaller"/> in <see cref="HttpContext.Items"/>.</summary>
    public const string CallerKey = "cybercoop.console.caller";

    /// <summary>Form field of the antiforgery token.</summary>
    public const string CsrfField = "csrf";

    /// <summary>The Content-Security-Policy of every response: only the console's own scripts, styles and data.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly TimeSpan s_sampleEvery = TimeSpan.FromSeconds(5);
    private readonly ILogger _log = log;
    private WebApplication? _app;
    private ITimer? _sampler;

    /// <summary>The bound port (the configured one, or the one chosen for port 0).</summary>
    public int Port { get; private set; }

    /// <summary>The console's base address, e.g. <c>https://127.0.0.1:7480/</c>.</summary>
    public string Url => $"{(config.LoopbackOnly ? "http" : "https")}://{FormatHost()}:{Port}/";

    /// <summary>The authenticated caller of a request (set by the console's authentication step).</summary>
    public static ConsoleCaller Caller(HttpContext context) =>
        context.Items[CallerKey] as ConsoleCaller ?? throw new InvalidOperationException("request not authenticated");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        GatewayConfigValidator.TryParseListen(config.Listen, out var endpoint);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.ClearProviders();
        // Tokens are bound to the operator's identity and valid for this run of the node (keys in memory only).
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddAntiforgery(o =>
        {
            o.FormFieldName = CsrfField;
            o.Cookie.Name = "cybercoop-console-csrf";
            o.Cookie.SecurePolicy = config.LoopbackOnly ? Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest : Microsoft.AspNetCore.Http.CookieSecurePolicy.Always;
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                // First, before TLS: the node's connection budget covers this listener too.
                if (config.LoopbackOnly)
                {
                    listen.Use(next => connection => budget.OnConnectionAsync(connection, next));
                    return;
                }

                listen.Use(next => connection => budget.OnTlsConnectionAsync(connection, next));

                listen.UseHttps(https =>
                {
                    https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                    https.ServerCertificateSelector = (_, _) => identitySource.Current.Certificate;
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.CheckCertificateRevocation = false;
                    // Accepted at the handshake so a refused certificate gets a page saying why; every request
                    // validates it (chain to this domain's root, revocations, operator kind) before anything is served.
                    https.ClientCertificateValidation = (_, _, _) => true;
                });
                listen.Use(next => connection => budget.OnHandshakeDoneAsync(connection, next));
            });
        });
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Cross-Origin-Resource-Policy"] = "same-origin";
                if (!context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal))
                {
                    headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            });
            try
            {
                if (context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal))
                {
                    await next(context).ConfigureAwait(false);
                    return;
                }

                var caller = authenticator.Authenticate(context);
                context.Items[CallerKey] = caller;
                // Antiforgery tokens are bound to this identity: a token taken from one operator's page is refused for another.
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, caller.Id)], "console"));
                await next(context).ConfigureAwait(false);
            }
            catch (ConsoleRefusal refusal)
            {
                if (context.Response.HasStarted)
                {
                    throw;
                }

                Refused(_log, refusal.Status, context.Request.Method, context.Request.Path.Value ?? "/", refusal.Message);
                await pages.Page(context, StatusTitle(refusal.Status), new ConsoleHtml().Element("p", refusal.Message, "alarm error"), status: refusal.Status)
                    .ExecuteAsync(context).ConfigureAwait(false);
            }
            catch (Exception ex) when (!context.Response.HasStarted && StoreOutageOf(ex) is { } cause)
            {
                // The PostgreSQL server is down or not serving: a page saying so (503), not an internal error. A read
                // shows nothing stale; an action's transaction did not commit unless only its answer was lost.
                StoreUnavailable(_log, context.Request.Method, context.Request.Path.Value ?? "/", cause);
                var text = HttpMethods.IsGet(context.Request.Method)
                    ? "This page reads the node's store, which is unavailable: " + cause + ". The overview still shows what the node holds in memory; reload this page once the store is back."
                    : "The node's store is unavailable, so this action was not carried out: " + cause + ". Once the store is back, look at the page again before you repeat it (if the store went away just as it committed, the action may have taken effect).";
                await pages.Page(context, "Store unavailable", new ConsoleHtml().Element("p", text, "alarm error"), status: StatusCodes.Status503ServiceUnavailable)
                    .ExecuteAsync(context).ConfigureAwait(false);
            }
        });
        app.MapGet("/assets/{name}", ConsoleAssets.Serve);
        app.MapGet("/", (Func<HttpContext, Task<IResult>>)pages.OverviewAsync);
        app.MapGet("/peers", (Func<HttpContext, Task<IResult>>)pages.PeersAsync);
        app.MapGet("/agents", (Func<HttpContext, Task<IResult>>)pages.AgentsAsync);
        app.MapGet("/flows", (Func<HttpContext, IResult>)pages.Flows);
        app.MapGet("/flows.json", (Func<HttpContext, IResult>)pages.FlowsJson);
        app.MapGet("/audit", (Func<HttpContext, Task<IResult>>)pages.AuditAsync);
        app.MapGet("/policy", (Func<HttpContext, IResult>)pages.Policy);
        app.MapGet("/indicators", (Func<HttpContext, Task<IResult>>)pages.IndicatorsAsync);
        app.MapGet("/indicators/{id}", (HttpContext context, string id) => pages.IndicatorAsync(context, id));
        app.MapPost("/indicators/{id}/withdraw", (HttpContext context, string id) => pages.ActAsync(context, id, "withdraw"));
        app.MapPost("/peers/remove", (Func<HttpContext, Task<IResult>>)pages.RemovePeerAsync);
        app.MapPost("/peers/add/fetch", (Func<HttpContext, Task<IResult>>)pages.FetchPeerRootAsync);
        app.MapPost("/peers/add", (Func<HttpContext, Task<IResult>>)pages.AddPeerAsync);
        app.MapGet("/trust", (Func<HttpContext, IResult>)pages.TrustPage);
        app.MapPost("/trust/install", (Func<HttpContext, Task<IResult>>)pages.InstallBundleAsync);
        app.MapPost("/indicators/{id}/suppress", (HttpContext context, string id) => pages.ActAsync(context, id, "suppress"));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        Port = GatewayNode.BoundPort(app, endpoint, config.LoopbackOnly ? "http://" : "https://");
        if (Port == 0)
        {
            throw new InvalidOperationException("the console listener has no TCP address");
        }

        throughput.Sample();
        _sampler = time.CreateTimer(_ => throughput.Sample(), null, s_sampleEvery, s_sampleEvery);
        Listening(_log, Url, config.LoopbackOnly ? "loopback only, read-only, no certificates" : "operator certificates of " + identitySource.Current.Id.TrustDomain);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _sampler?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _sampler?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }

    /// <summary>The store outage <paramref name="ex"/> is (recorded in the status's outage line), or null.</summary>
    private string? StoreOutageOf(Exception ex)
    {
        if (ex is StoreUnavailableException)
        {
            return ex.Message;
        }

        return PostgresOutage.Of(ex) is { } outage && store.Outage is { } monitor ? monitor.Seen(outage) : null;
    }

    private string FormatHost()
    {
        GatewayConfigValidator.TryParseListen(config.Listen, out var endpoint);
        return endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString();
    }

    private static string StatusTitle(int status) => status switch
    {
        401 => "Not authenticated",
        403 => "Forbidden",
        404 => "Not found",
        _ => "Refused",
    };

    [LoggerMessage(EventId = 950, Level = LogLevel.Information, Message = "Operator console listening on {Url} ({Mode})")]
    private static partial void Listening(ILogger logger, string url, string mode);

    [LoggerMessage(EventId = 952, Level = LogLevel.Warning, Message = "Console answered {Method} {Path} with 503: {Cause}")]
    private static partial void StoreUnavailable(ILogger logger, string method, string path, string cause);

    [LoggerMessage(EventId = 951, Level = LogLevel.Information, Message = "Console refused {Method} {Path} with {Status}: {Reason}")]
    private static partial void Refused(ILogger logger, int status, string method, string path, string reason);
}
