using CyberCoop.Gateway.Admin;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Ingest;
using CyberCoop.Gateway.Lifecycle;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CyberCoop.Gateway.Hosting;

/// <summary>Wiring of the gateway's services: one entry point for registration, one for endpoints.</summary>
internal static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Registers the node's services from what was read before the host was built: the node's state holders (trust,
    /// identity, audit, outbox signal, reload), the store under its focused interfaces, the gRPC services, dispatcher
    /// and forwarders.
    /// </summary>
    public static IServiceCollection AddCyberCoopGateway(this IServiceCollection services, NodeStartState start, GatewayStore store, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        services.TryAddSingleton(start);
        services.TryAddSingleton(start.Config);
        services.TryAddSingleton(time);
        services.AddCyberCoopStore(store);
        services.TryAddSingleton<TrustHolder>();
        services.TryAddSingleton<ITrustSnapshot>(sp => sp.GetRequiredService<TrustHolder>());
        services.TryAddSingleton<NodeIdentitySource>();
        services.TryAddSingleton<INodeIdentitySource>(sp => sp.GetRequiredService<NodeIdentitySource>());
        services.TryAddSingleton<NodeMetrics>();
        services.TryAddSingleton<CallerActivity>();
        services.TryAddSingleton<AuditWriter>();
        services.TryAddSingleton<IAuditSink>(sp => sp.GetRequiredService<AuditWriter>());
        services.TryAddSingleton<OutboxSignal>();
        services.TryAddSingleton<IOutboxSignal>(sp => sp.GetRequiredService<OutboxSignal>());
        services.TryAddSingleton<ConfigReloader>();
        services.TryAddSingleton<GatewayRuntime>();
        services.TryAddSingleton<LiveStreamRegistry>();
        services.TryAddSingleton<CallerAuthorization>();
        services.TryAddSingleton<CallerLimits>();
        services.TryAddSingleton(sp => ConnectionBudget.ForThisProcess(sp.GetRequiredService<ILogger<ConnectionBudget>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<Admin.NodeStatusReport>();
        services.AddMetrics();
        services.TryAddSingleton<GatewayMeter>();
        services.TryAddSingleton<PeerKeyDirectory>();
        services.AddHostedService<PeerKeyFetcher>();
        services.TryAddSingleton<TrustBundlePublisher>();
        services.TryAddSingleton<EnvelopeReceiver>();
        services.AddCyberCoopLifecycle();
        services.TryAddSingleton<OutboundDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboundDispatcher>());
        services.TryAddSingleton<MaintenanceService>();
        services.AddHostedService(sp => sp.GetRequiredService<MaintenanceService>());
        services.TryAddSingleton<PeerForwarderFactory>();
        services.TryAddSingleton<ForwarderManager>();
        services.AddHostedService(sp => sp.GetRequiredService<ForwarderManager>());
        services.AddGrpc(options =>
            {
                options.MaxReceiveMessageSize = PeerChannelFactory.MaxMessageBytes;
                options.MaxSendMessageSize = PeerChannelFactory.MaxMessageBytes;
                options.EnableDetailedErrors = false;
                options.Interceptors.Add<DamagedDatabaseInterceptor>();
            })
            .AddServiceOptions<IngestService>(options => options.MaxReceiveMessageSize = 4 * 1024 * 1024);
        services.AddGrpcHealthChecks();
        return services;
    }

    /// <summary>Maps the gRPC endpoints.</summary>
    public static WebApplication MapCyberCoopGateway(this WebApplication app)
    {
        app.MapGrpcService<IngestService>();
        app.MapGrpcService<FederationService>();
        app.MapGrpcService<AdminService>();
        app.MapGrpcService<IndicatorAdminService>();
        app.MapGrpcHealthChecksService();
        return app;
    }
}
