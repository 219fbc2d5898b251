using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Trust;
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
using OpenTelemetry.Metrics;

namespace CyberCoop.Gateway.Hosting;

/// <summary>Options for starting a node in-process (the CLI, the demo and tests).</summary>
internal sealed record GatewayNodeOptions
{
    /// <summary>Clock (tests pass a fake one).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Logging setup; default: console at Information.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}

/// <summary>
/// A running gateway: Kestrel on the mTLS endpoint (HTTP/2, TLS 1.3 only, client certificate
/// required and validated against the configured roots only), on the Unix admin socket, and, when
/// configured, on a plain-HTTP metrics endpoint that serves only <c>/metrics</c> and <c>/healthz</c>.
/// </summary>
internal sealed class GatewayNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _stopGate = new();
    private readonly GatewayStore _store;
    private Task? _stopping;

    /// <summary>Meters exported on the metrics endpoint: the node's own, the runtime's and Kestrel's.</summary>
    private static readonly string[] s_exportedMeters = [GatewayMeter.Name, "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel"];

    private GatewayNode(WebApplication app, GatewayStore store, int port, int? metricsPort, string adminSocket)
    {
        _app = app;
        _store = store;
        Runtime = app.Services.GetRequiredService<GatewayRuntime>();
        Streams = app.Services.GetRequiredService<LiveStreamRegistry>();
        Port = port;
        MetricsPort = metricsPort;
        AdminSocket = adminSocket;
    }

    /// <summary>The node's state as one view, for in-process tests and the demo (services take the narrow parts).</summary>
    public GatewayRuntime Runtime { get; }

    /// <summary>Open inbound streams and mutual-TLS connections, cut when their caller loses its admission.</summary>
    public LiveStreamRegistry Streams { get; }

    /// <summary>The bound mTLS port.</summary>
    public int Port { get; }

    /// <summary>The bound plain-HTTP metrics port, or null when <c>node.metricsListen</c> is not set.</summary>
    public int? MetricsPort { get; }

    /// <summary>Path of the admin socket.</summary>
    public string AdminSocket { get; }

    /// <summary>Services (for tests).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Port of the TAXII server; null when <c>taxii</c> is not configured.</summary>
    public int? TaxiiPort => _app.Services.GetService<Interop.Taxii.TaxiiServer>()?.Port;

    /// <summary>The operator console's base address, when <c>console</c> is configured.</summary>
    public string? ConsoleUrl => _app.Services.GetService<WebConsole.ConsoleServer>()?.Url;

    /// <summary>Completes when the host stops (SIGTERM, Ctrl-C or <see cref="StopAsync"/>).</summary>
    public async Task WaitForShutdownAsync(CancellationToken ct = default)
    {
        // Not WebApplication.WaitForShutdownAsync: it stops the host itself, beside any StopAsync already running (a SIGTERM
        // both signals the host's lifetime and cancels the command line), and every hosted service was stopped once per
        // call: three final audit checkpoints per stop, and a last maintenance round racing the store's disposal.
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lifetime = _app.Services.GetRequiredService<IHostApplicationLifetime>();
        using (lifetime.ApplicationStopping.Register(() => stopping.TrySetResult()))
        using (ct.Register(() => lifetime.StopApplication()))
        {
            await stopping.Task.ConfigureAwait(false);
        }

        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>Loads, validates and starts a node from its config file.</summary>
    public static async Task<GatewayNode> StartAsync(string configPath, GatewayNodeOptions? options = null, CancellationToken ct = default)
    {
        options ??= new GatewayNodeOptions();
        // Validated here, before the host exists, not with the options pattern's ValidateOnStart: the listen endpoints,
        // the store and the identity are built from the config before the host is, and an operator gets every problem at
        // once, each naming its field, before any port is bound or file opened. Reloads validate the same way (ConfigReloader).
        var loaded = GatewayConfigFile.Load(configPath);
        var node = loaded.Config.Node;
        var identity = NodeIdentity.Load(loaded, options.Time);
        GatewayStore? store = null;
        WebApplication? app = null;
        try
        {
            var adminSocket = loaded.Resolve(node.AdminSocket);
            PrepareAdminSocket(loaded.Path, adminSocket);
            store = await StoreOpener.OpenAsync(loaded, options.Time, ct).ConfigureAwait(false);
            var heldProblems = new List<string>();
            var held = HeldTrustBundles.Restore(await store.ReadTrustBundlesAsync(ct).ConfigureAwait(false), options.Time.GetUtcNow(), heldProblems);
            var trust = TrustState.Create(loaded, OwnTrustBundle.Load(loaded, options.Time), held, options.Time);

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
            {
                ContentRootPath = loaded.BaseDirectory,
                // The node reads gateway.json itself (reload through the admin socket); the host's appsettings.json
                // watcher would only watch the content root, recursively, where the database lives: every WAL write
                // then woke a FileSystemWatcher thread (perf: ~6% of the gateway's CPU under load).
                Args = ["--hostBuilder:reloadConfigOnChange=false"],
            });
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.Logging.ClearProviders();
            if (options.ConfigureLogging is { } configure)
            {
                configure(builder.Logging);
            }
            else
            {
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
                builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
            }

            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
            var start = new NodeStartState { Config = loaded, Identity = identity, Trust = trust, HeldBundles = held };
            builder.Services.AddCyberCoopGateway(start, store, options.Time);
            // Set once the host is built; read by Kestrel's per-handshake and per-connection callbacks, which run only after start.
            IServiceProvider? host = null;
            if (loaded.Config.Taxii is { } taxii)
            {
                // The TAXII 2.1 server for analysts' tools: its own Kestrel and port, started and stopped with the node.
                builder.Services.AddSingleton(taxii);
                builder.Services.AddSingleton<Interop.Taxii.TaxiiAuthenticator>();
                builder.Services.AddSingleton<Interop.Taxii.TaxiiOutbound>();
                builder.Services.AddSingleton<Interop.Taxii.TaxiiRequestHandler>();
                builder.Services.AddSingleton<Interop.Taxii.TaxiiServer>();
                builder.Services.AddHostedService(services => services.GetRequiredService<Interop.Taxii.TaxiiServer>());
            }

            if (loaded.Config.Console is { } console)
            {
                // The operator web console: its own Kestrel and port, started and stopped with the node.
                builder.Services.AddSingleton(console);
                builder.Services.AddSingleton<WebConsole.ConsoleThroughput>();
                builder.Services.AddSingleton<WebConsole.ConsoleAuthenticator>();
                builder.Services.AddSingleton<WebConsole.ConsolePages>();
                builder.Services.AddSingleton<WebConsole.ConsoleServer>();
                builder.Services.AddHostedService(services => services.GetRequiredService<WebConsole.ConsoleServer>());
            }

            // sd_notify readiness and journald-friendly logs when run as a systemd service; nothing otherwise.
            builder.Services.AddSystemd();
            GatewayConfigValidator.TryParseListen(node.Listen, out var endpoint);
            IPEndPoint? metricsEndpoint = null;
            if (node.MetricsListen is not null && GatewayConfigValidator.TryParseListen(node.MetricsListen, out var parsedMetrics))
            {
                metricsEndpoint = parsedMetrics;
                builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(s_exportedMeters).AddPrometheusExporter());
            }

            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                // node.keepalive (read at start): an inbound connection gone silent is closed, freeing the caller's stream quota.
                kestrel.Limits.Http2.KeepAlivePingDelay = node.Keepalive.Interval;
                kestrel.Limits.Http2.KeepAlivePingTimeout = node.Keepalive.Timeout;
                kestrel.Listen(endpoint, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    // First, before TLS: a connection beyond the node's connection budget, or beyond its source's share of
                    // unfinished handshakes, is closed at once.
                    listen.Use(next => connection => host!.GetRequiredService<ConnectionBudget>().OnTlsConnectionAsync(connection, next));
                    listen.UseHttps(https =>
                    {
                        https.SslProtocols = SslProtocols.Tls13;
                        // Read per handshake so a renewed certificate applies after a reload, without a restart.
                        https.ServerCertificateSelector = (_, _) => host!.GetRequiredService<INodeIdentitySource>().Current.Certificate;
                        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                        https.CheckCertificateRevocation = false;
                        https.ClientCertificateValidation = (certificate, _, _) => ValidateClient(host!, certificate);
                    });
                    // After TLS: the handshake has ended; every authenticated connection is tracked so a revocation can close it.
                    listen.Use(next => connection => host!.GetRequiredService<ConnectionBudget>().OnHandshakeDoneAsync(connection, next));
                    listen.Use(next => connection => host!.GetRequiredService<LiveStreamRegistry>().TrackConnectionAsync(connection, next));
                });
                kestrel.ListenUnixSocket(adminSocket, listen => listen.Protocols = HttpProtocols.Http2);
                if (metricsEndpoint is not null)
                {
                    kestrel.Listen(metricsEndpoint, listen =>
                    {
                        listen.Protocols = HttpProtocols.Http1;
                        listen.Use(next => connection => host!.GetRequiredService<ConnectionBudget>().OnConnectionAsync(connection, next));
                    });
                }
            });

            app = builder.Build();
            host = app.Services;
            var logger = host.GetRequiredService<ILogger<GatewayNode>>();
            var activity = await store.ReadCallerActivityAsync(ct).ConfigureAwait(false);
            var metrics = host.GetRequiredService<NodeMetrics>();
            host.GetRequiredService<CallerActivity>().Restore(activity);
            metrics.RestoreIngested(activity.Sum(a => a.SightingsStored), activity.Sum(a => a.SightingsRejected));
            foreach (var counters in await store.ReadPeerCountersAsync(ct).ConfigureAwait(false))
            {
                metrics.RestorePeer(counters);
            }

            foreach (var problem in heldProblems)
            {
                GatewayLog.HeldTrustBundleSkipped(logger, problem);
            }

            host.GetRequiredService<GatewayMeter>();
            if (metricsEndpoint is not null)
            {
                MapMetricsEndpoint(app);
            }

            app.MapCyberCoopGateway();
            await app.StartAsync(ct).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(adminSocket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            var port = BoundPort(app, endpoint, "https://");
            int? metricsPort = metricsEndpoint is null ? null : BoundPort(app, metricsEndpoint, "http://");
            GatewayLog.Listening(logger, identity.IdText, $"{endpoint.Address}:{port}", adminSocket);
            host.GetRequiredService<ConnectionBudget>().LogCapacity();
            if (metricsPort is { } bound)
            {
                GatewayLog.MetricsListening(logger, $"{metricsEndpoint!.Address}:{bound}");
            }

            return new GatewayNode(app, store, port, metricsPort, adminSocket);
        }
        catch
        {
            if (app is not null)
            {
                // Stops the audit writer and the services built so far; the store and the identity are closed below.
                await app.DisposeAsync().ConfigureAwait(false);
            }

            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            identity.Dispose();
            throw;
        }
    }

    private static bool ValidateClient(IServiceProvider services, X509Certificate2 certificate)
    {
        var trust = services.GetRequiredService<ITrustSnapshot>().Current;
        var logger = services.GetRequiredService<ILogger<GatewayNode>>();
        var result = trust.Validator.Validate(certificate, null, CertificatePurpose.Client);
        if (result.IsValid)
        {
            return true;
        }

        if (trust.Config.Config.Node.FirstContact && FirstContact.Admits(result))
        {
            // A gateway of a domain not pinned here: admitted to read the public trust bundle only (see FirstContact).
            LiveStreamLog.FirstContactAccepted(logger, result.Id!.Value.ToString());
            return true;
        }

        var claimed = certificate.Subject;
        GatewayLog.TlsClientRejected(logger, result.Reason, claimed);
        services.GetRequiredService<IAuditSink>().RecordDenial(claimed, "tls", $"{result.Rejection}: {result.Reason}");
        return false;
    }

    /// <summary>
    /// The plain-HTTP listener serves the Prometheus scrape at <c>/metrics</c> and a liveness probe at
    /// <c>/healthz</c>, and nothing else: every other request arriving without TLS gets 404 before any
    /// gRPC service sees it, and the scrape is never answered on the mTLS or admin listeners.
    /// </summary>
    private static void MapMetricsEndpoint(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var plain = !context.Request.IsHttps && context.Connection.LocalIpAddress is not null;
            var path = context.Request.Path;
            if (plain && path == "/healthz")
            {
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("ok\n", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            if (plain != (path == "/metrics"))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context).ConfigureAwait(false);
        });
        app.UseOpenTelemetryPrometheusScrapingEndpoint(context => context.Request.Path == "/metrics" && !context.Request.IsHttps);
    }

    /// <summary>
    /// The TCP port a Kestrel listener requested as <paramref name="requested"/> got: the requested one, or the one the
    /// system chose for port 0 (0 when no TCP binding of <paramref name="scheme"/> is listed).
    /// </summary>
    internal static int BoundPort(WebApplication app, IPEndPoint requested, string scheme)
    {
        if (requested.Port != 0)
        {
            return requested.Port;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            // The admin socket is listed too ("http://unix:/path"); only TCP bindings carry a port.
            var binding = BindingAddress.Parse(address);
            if (address.StartsWith(scheme, StringComparison.Ordinal) && !binding.IsUnixPipe)
            {
                return binding.Port;
            }
        }

        return requested.Port;
    }

    /// <summary>Removes a stale admin socket; refuses when another node answers on it.</summary>
    private static void PrepareAdminSocket(string configPath, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
            return;
        }

        throw new GatewayConfigException(configPath, [$"node.adminSocket: another gateway is already running on '{path}'"]);
    }

    /// <summary>Stops gracefully: no new calls, streams drained, in-flight commits finished.</summary>
    public Task StopAsync()
    {
        // One stop, however many callers ask for it (SIGTERM, the command line's cancellation, dispose).
        lock (_stopGate)
        {
            return _stopping ??= Task.Run(() => _app.StopAsync());
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        finally
        {
            // The host's services go first (the audit writer writes what is queued), then the store and identity they used.
            var identity = Runtime.Identity;
            await _app.DisposeAsync().ConfigureAwait(false);
            await _store.DisposeAsync().ConfigureAwait(false);
            identity.Dispose();
            try
            {
                File.Delete(AdminSocket);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }
}
