using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// Periodic housekeeping: signs an audit checkpoint (so a later edit of the log is provable even by
/// someone who rewrites the whole hash chain), forgets envelope ids, bundle keys and agent batch
/// ids long after any legitimate re-send could arrive, and destroys retired KEM keys past their grace.
/// </summary>
internal sealed class MaintenanceService(IIngestStore ingestStore, IReceiveStore receiveStore, AuditLog auditLog, ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, IAuditSink auditSink, ILogger<MaintenanceService> logger) : BackgroundService
{
    /// <summary>How often a checkpoint is signed.</summary>
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long replay and idempotency keys are kept. Far beyond the replay window: the window bounds what
    /// a receiver accepts as fresh, this bounds how long an honest re-send (after an outage) is recognised.
    /// </summary>
    public static readonly TimeSpan KeyRetention = TimeSpan.FromDays(7);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckpointInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Signs a last checkpoint on graceful shutdown, so the log's head is covered.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RunOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The shutdown's grace ran out first (a loaded machine): the node still stops; the next start's first round
            // checkpoints the head. Before, the cancellation escaped and failed the whole stop.
            GatewayLog.ShutdownCheckpointCutOff(logger);
        }
    }

    /// <summary>One round: checkpoint and purge.</summary>
    public async Task RunOnceAsync(CancellationToken ct)
    {
        try
        {
            await auditLog.WriteCheckpointAsync(SignCheckpoint, ct).ConfigureAwait(false);
            var cutoff = time.GetUtcNow() - KeyRetention;
            await receiveStore.PurgeSeenEnvelopesAsync(cutoff, ct).ConfigureAwait(false);
            await ingestStore.PurgeIngestBatchesAsync(cutoff, ct).ConfigureAwait(false);
            PurgeRetiredKemKeys();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            GatewayLog.MaintenanceFailed(logger, ex);
        }
    }

    /// <summary>Destroys retired KEM private keys whose grace period is over (see <see cref="ContentKeyStore.PurgeExpiredKem"/>).</summary>
    private void PurgeRetiredKemKeys()
    {
        var loaded = trustSnapshot.Current.Config;
        var node = loaded.Config.Node;
        var keysDirectory = loaded.Resolve(node.KeysDirectory);
        if (!Directory.Exists(keysDirectory))
        {
            return;
        }

        foreach (var file in ContentKeyStore.PurgeExpiredKem(keysDirectory, time.GetUtcNow(),
            TimeSpan.FromSeconds(node.KeyRotation.RetiredGraceSeconds), TimeSpan.FromSeconds(node.MaxClockSkewSeconds)))
        {
            GatewayLog.RetiredKemKeyDestroyed(logger, file);
            auditSink.AuditLater(new Storage.AuditEntry { Kind = Storage.AuditKinds.Config, Actor = nodeIdentity.Current.IdText, Subject = file, Decision = "key-destroyed", Reason = "retired KEM key past its grace period" });
        }
    }

    private byte[] SignCheckpoint(byte[] message) =>
        ContentSignatures.Sign(SignaturePurpose.AuditCheckpoint, message, nodeIdentity.Current.SigningKey(Suite.X25519Aes256GcmEd25519));
}
