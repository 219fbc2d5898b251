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
    /// <summary>Registers the node's runtime, gRPC services, dispatcher and forwarders.</summary>
    public static IServiceCollection AddCyberCoopGateway(this IServiceCollection services, GatewayRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        services.TryAddSingleton(runtime);
        services.TryAddSingleton(runtime.Time);
        services.AddCyberCoopStore(runtime.Store);
        services.TryAddSingleton<ITrustSnapshot>(runtime);
        services.TryAddSingleton<INodeIdentitySource>(runtime);
        services.TryAddSingleton<IAuditSink>(runtime);
        services.TryAddSingleton<IOutboxSignal>(runtime);
        services.TryAddSingleton(runtime.Metrics);
        services.TryAddSingleton(runtime.Activity);
        services.TryAddSingleton<CallerAuthorization>();
        services.TryAddSingleton<CallerLimits>();
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
