using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// Deletes indicators expired for longer than <c>node.expiry.retentionDays</c>, every <c>node.expiry.pruneIntervalSeconds</c>
/// (read again each round, so a reload applies), and audits each pass that deleted something with the ids.
/// </summary>
internal sealed class ExpiryPruner(ILifecycleStore lifecycleStore, AuditLog auditLog, ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, ILogger<ExpiryPruner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var interval = TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.Expiry.PruneIntervalSeconds);
                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
                await PruneOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                GatewayLog.MaintenanceFailed(logger, ex);
            }
        }
    }

    /// <summary>One pass; returns the ids deleted.</summary>
    public async Task<IReadOnlyList<string>> PruneOnceAsync(CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(trustSnapshot.Current.Config.Config.Node.Expiry.RetentionDays);
        var pruned = await lifecycleStore.PruneExpiredAsync(cutoff, ct).ConfigureAwait(false);
        if (pruned.Count > 0)
        {
            LifecycleLog.Pruned(logger, pruned.Count, cutoff);
            await auditLog.AppendAsync(
            [
                new AuditEntry
                {
                    Kind = AuditKinds.Config,
                    Actor = nodeIdentity.Current.IdText,
                    Subject = "expiry",
                    Decision = "pruned",
                    Reason = $"{pruned.Count} indicators expired before {cutoff:O} (retention {trustSnapshot.Current.Config.Config.Node.Expiry.RetentionDays} days)",
                    DetailsJson = AuditDetails.Indicators(pruned),
                },
            ], ct).ConfigureAwait(false);
        }

        return pruned;
    }
}
