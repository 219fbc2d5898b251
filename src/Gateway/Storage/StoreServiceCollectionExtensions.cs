using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CyberCoop.Gateway.Storage;

/// <summary>Registers the opened store under each focused interface, so every caller asks only for the part it uses.</summary>
internal static class StoreServiceCollectionExtensions
{
    /// <summary>Registers <paramref name="store"/>, its audit log and its focused interfaces (all one instance).</summary>
    public static IServiceCollection AddCyberCoopStore(this IServiceCollection services, GatewayStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        services.TryAddSingleton(store);
        services.TryAddSingleton(store.Audit);
        services.TryAddSingleton<IStoreHealth>(store);
        services.TryAddSingleton<IIndicatorStore>(store);
        services.TryAddSingleton<IIngestStore>(store);
        services.TryAddSingleton<IReceiveStore>(store);
        services.TryAddSingleton<IOutboxStore>(store);
        services.TryAddSingleton<IDispatchStore>(store);
        services.TryAddSingleton<IEmbargoStore>(store);
        services.TryAddSingleton<IQuarantineStore>(store);
        services.TryAddSingleton<ITrustBundleStore>(store);
        services.TryAddSingleton<ILifecycleStore>(store);
        services.TryAddSingleton<IExportStore>(store);
        services.TryAddSingleton<IActivityStore>(store);
        services.TryAddSingleton<ISightingsStore>(store);
        services.TryAddSingleton<ITaxiiStatusStore>(store);
        return services;
    }
}
