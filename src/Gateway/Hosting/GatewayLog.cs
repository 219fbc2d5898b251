using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Hosting;

/// <summary>Every log message of the gateway host, defined once with a stable event id.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(1000, LogLevel.Information, "Gateway {NodeId} listening on {Endpoint} (admin socket {AdminSocket})")]
    public static partial void Listening(ILogger logger, string nodeId, string endpoint, string adminSocket);

    [LoggerMessage(1090, LogLevel.Information, "Metrics served in plain HTTP on {Endpoint} (/metrics, /healthz)")]
    public static partial void MetricsListening(ILogger logger, string endpoint);

    [LoggerMessage(1001, LogLevel.Warning, "TLS client rejected: {Reason} (claimed {Claimed})")]
    public static partial void TlsClientRejected(ILogger logger, string reason, string claimed);

    [LoggerMessage(1002, LogLevel.Warning, "Call to {Method} denied for {Caller}: {Reason}")]
    public static partial void CallDenied(ILogger logger, string method, string caller, string reason);

    [LoggerMessage(1003, LogLevel.Information, "Config reloaded: {Summary}")]
    public static partial void ConfigReloaded(ILogger logger, string summary);

    [LoggerMessage(1004, LogLevel.Error, "Config reload refused, keeping the running config: {Errors}")]
    public static partial void ConfigReloadRefused(ILogger logger, string errors);

    [LoggerMessage(1010, LogLevel.Information, "Ingest batch from {Agent}: {Accepted} accepted, {Merged} merged, {Rejected} rejected{Duplicate}")]
    public static partial void IngestBatch(ILogger logger, string agent, int accepted, int merged, int rejected, string duplicate);

    [LoggerMessage(1020, LogLevel.Information, "Connected to peer {Peer} (suite {Suite})")]
    public static partial void PeerConnected(ILogger logger, string peer, string suite);

    [LoggerMessage(1021, LogLevel.Warning, "Delivery to peer {Peer} failed, retrying in {DelayMs} ms: {Error}")]
    public static partial void PeerDeliveryFailed(ILogger logger, string peer, long delayMs, string error);

    [LoggerMessage(1032, LogLevel.Warning, "Peer {Peer} refused this node, retrying in {DelayMs} ms (backing off up to node.reconnect.deniedMaxBackoffSeconds): {Error}")]
    public static partial void PeerRefusedUs(ILogger logger, string peer, long delayMs, string error);

    [LoggerMessage(1033, LogLevel.Debug, "Peer {Peer} still unavailable, retrying in {DelayMs} ms (same backoff step): {Error}")]
    public static partial void PeerRetryAtCap(ILogger logger, string peer, long delayMs, string error);

    [LoggerMessage(1022, LogLevel.Warning, "Peer {Peer} rejected envelope {EnvelopeId}: {Reason}")]
    public static partial void PeerRejectedEnvelope(ILogger logger, string peer, string envelopeId, string reason);

    [LoggerMessage(1023, LogLevel.Warning, "Envelope {EnvelopeId} from {Sender} rejected: {Reason}")]
    public static partial void EnvelopeRejected(ILogger logger, string envelopeId, string sender, string reason);

    [LoggerMessage(1024, LogLevel.Information, "Envelope {EnvelopeId} from {Sender} (origin {Origin}, hop {Hop}): {Accepted} accepted, {Quarantined} quarantined, {Rejected} rejected")]
    public static partial void EnvelopeAccepted(ILogger logger, string envelopeId, string sender, string origin, uint hop, int accepted, int quarantined, int rejected);

    [LoggerMessage(1025, LogLevel.Warning, "Trust bundle of peer {Peer} not usable: {Reason}")]
    public static partial void TrustBundleRejected(ILogger logger, string peer, string reason);

    [LoggerMessage(1026, LogLevel.Information, "Trust bundle of {Domain} accepted (sequence {Sequence}, {Roots} roots, {Revoked} revoked serials, expires {ExpiresAt})")]
    public static partial void TrustBundleAccepted(ILogger logger, string domain, ulong sequence, int roots, int revoked, DateTimeOffset expiresAt);

    [LoggerMessage(1027, LogLevel.Warning, "Trust bundle of {Domain} ignored: {Reason}")]
    public static partial void TrustBundleIgnored(ILogger logger, string domain, string reason);

    [LoggerMessage(1028, LogLevel.Warning, "Key announcement served with the trust bundle of {Domain} ignored: {Reason}")]
    public static partial void KeyAnnouncementIgnored(ILogger logger, string domain, string reason);

    [LoggerMessage(1029, LogLevel.Warning, "Held trust bundle skipped at start (trust falls back to the pinned root): {Problem}")]
    public static partial void HeldTrustBundleSkipped(ILogger logger, string problem);

    [LoggerMessage(1030, LogLevel.Information, "Bundle for {Peer}: {Shared} shared, {Withheld} withheld")]
    public static partial void BundleCut(ILogger logger, string peer, int shared, int withheld);

    [LoggerMessage(1031, LogLevel.Error, "Outbound dispatcher failed; retrying")]
    public static partial void DispatcherFailed(ILogger logger, Exception exception);

    [LoggerMessage(1005, LogLevel.Error, "Could not write {Count} audit entries; they stay queued and are retried in {Pause}")]
    public static partial void AuditWriteFailed(ILogger logger, int count, TimeSpan pause, Exception exception);

    [LoggerMessage(1092, LogLevel.Warning, "{Count} audit entries whose write failed were committed all the same (their reply was lost; last seq {Seq}): not written again")]
    public static partial void AuditBatchFoundCommitted(ILogger logger, int count, long seq);

    [LoggerMessage(1091, LogLevel.Error, "Stopped with {Count} audit entries not written (the writer did not finish within the stop grace)")]
    public static partial void AuditUnwrittenAtStop(ILogger logger, long count);

    [LoggerMessage(1006, LogLevel.Error, "Maintenance round failed; retrying at the next interval")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(1007, LogLevel.Warning, "The shutdown's last audit checkpoint was not written within the stop grace; the node stops all the same and the next start's first maintenance round checkpoints the log's head")]
    public static partial void ShutdownCheckpointCutOff(ILogger logger);

    [LoggerMessage(1050, LogLevel.Warning, "Limit hit by {Caller} on {Method} ({Decision}): {Reason}")]
    public static partial void RateLimited(ILogger logger, string caller, string method, string decision, string reason);

    [LoggerMessage(1051, LogLevel.Warning, "Limit: {Count} more streams or messages of {Caller} {Decision} under {Limit} in the last window")]
    public static partial void RateLimitSummary(ILogger logger, string caller, long count, string decision, string limit);

    [LoggerMessage(1060, LogLevel.Critical, "{Diagnosis}")]
    public static partial void DatabaseDamaged(ILogger logger, string diagnosis);

    [LoggerMessage(1061, LogLevel.Error, "{Method} refused: {Reason}")]
    public static partial void StorageFull(ILogger logger, string method, string reason);

    [LoggerMessage(1040, LogLevel.Information, "Shutting down: draining streams")]
    public static partial void ShuttingDown(ILogger logger);

    [LoggerMessage(1180, LogLevel.Warning, "Activity of {Caller} could not be saved: {Error}")]
    public static partial void CallerActivityNotSaved(ILogger logger, string caller, string error);
}
