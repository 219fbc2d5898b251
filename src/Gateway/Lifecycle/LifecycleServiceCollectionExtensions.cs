using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>Wiring of the intelligence lifecycle: withdrawals, suppressions, sightings back, expiry.</summary>
internal static class LifecycleServiceCollectionExtensions
{
    /// <summary>Registers the lifecycle receiver and the operator's withdrawal service.</summary>
    public static IServiceCollection AddCyberCoopLifecycle(this IServiceCollection services)
    {
        services.TryAddSingleton<SightingsReceiver>();
        services.TryAddSingleton<LifecycleReceiver>();
        services.TryAddSingleton<SightingsReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<SightingsReporter>());
        services.TryAddSingleton<WithdrawalService>();
        services.TryAddSingleton<ExpiryPruner>();
        services.AddHostedService(sp => sp.GetRequiredService<ExpiryPruner>());
        return services;
    }
}
