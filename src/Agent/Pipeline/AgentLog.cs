using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Pipeline;

/// <summary>Every log message of the agent, defined once with a stable event id.</summary>
internal static partial class AgentLog
{
    [LoggerMessage(2000, LogLevel.Information, "Agent {Name} starting: {Sources} source(s), gateway {Gateway}, spool {Spool}")]
    public static partial void Starting(ILogger logger, string name, int sources, string gateway, string spool);

    [LoggerMessage(2001, LogLevel.Information, "Agent stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(2010, LogLevel.Information, "Source {Source}: reading {Path} from offset {Offset} (line {Line})")]
    public static partial void FileOpened(ILogger logger, string source, string path, long offset, long line);

    [LoggerMessage(2011, LogLevel.Information, "Source {Source}: {Path} was rotated away; finished it at offset {Offset}")]
    public static partial void FileFinished(ILogger logger, string source, string path, long offset);

    [LoggerMessage(2019, LogLevel.Information, "Source {Source}: {Path} was rotated away; still reading the old file until a new one exists and the old one has been idle for {GraceSeconds} s")]
    public static partial void FileRotated(ILogger logger, string source, string path, double graceSeconds);

    [LoggerMessage(2012, LogLevel.Warning, "Source {Source}: {Path} was truncated or replaced (copy-truncate); reading it again from the start")]
    public static partial void FileTruncated(ILogger logger, string source, string path);

    [LoggerMessage(2013, LogLevel.Warning, "Source {Source}: cannot open {Path}: {Error}")]
    public static partial void FileOpenFailed(ILogger logger, string source, string path, string error);

    [LoggerMessage(2014, LogLevel.Warning, "Source {Source}: skipped {File}:{Line}: {Reason}")]
    public static partial void LineSkipped(ILogger logger, string source, string file, long line, string reason);

    [LoggerMessage(2015, LogLevel.Warning, "Source {Source}: {Count} more lines skipped (only the first {Logged} are logged each; see `parse` for a full report)")]
    public static partial void SkipsSuppressed(ILogger logger, string source, long count, int logged);

    [LoggerMessage(2016, LogLevel.Information, "Source {Source}: {Path} resumed from the spool's record at offset {Offset}")]
    public static partial void ResumedFromSpool(ILogger logger, string source, string path, long offset);

    [LoggerMessage(2020, LogLevel.Warning, "Spool full ({Bytes} bytes unacknowledged, cap {Cap}): readers are paused until the gateway acknowledges; no detection is dropped")]
    public static partial void SpoolFull(ILogger logger, long bytes, long cap);

    [LoggerMessage(2021, LogLevel.Information, "Spool has room again ({Bytes} bytes unacknowledged); readers resume")]
    public static partial void SpoolResumed(ILogger logger, long bytes);

    [LoggerMessage(2024, LogLevel.Warning, "Disk full writing the {What} ({Error}): readers are paused and the write is retried every {RetryMs} ms; nothing is dropped")]
    public static partial void DiskFull(ILogger logger, string what, string error, long retryMs);

    [LoggerMessage(2025, LogLevel.Information, "Disk has room again for the {What}; readers resume")]
    public static partial void DiskHasRoom(ILogger logger, string what);

    [LoggerMessage(2022, LogLevel.Warning, "Spool segment {Segment} had a torn or corrupt record at byte {Offset}; truncated there")]
    public static partial void SpoolTruncated(ILogger logger, string segment, long offset);

    [LoggerMessage(2023, LogLevel.Information, "Spool opened: {Records} unacknowledged batch(es), {Bytes} bytes")]
    public static partial void SpoolOpened(ILogger logger, int records, long bytes);

    [LoggerMessage(2030, LogLevel.Information, "Connected to gateway {Gateway}")]
    public static partial void Connected(ILogger logger, string gateway);

    [LoggerMessage(2031, LogLevel.Warning, "Gateway {Gateway} unavailable, retrying in {DelayMs} ms: {Error}")]
    public static partial void DeliveryFailed(ILogger logger, string gateway, long delayMs, string error);

    [LoggerMessage(2032, LogLevel.Debug, "Batch {BatchId}: {Accepted} accepted, {Merged} merged, {Rejected} rejected{Duplicate}")]
    public static partial void BatchAcknowledged(ILogger logger, string batchId, int accepted, int merged, int rejected, string duplicate);

    [LoggerMessage(2033, LogLevel.Warning, "Batch {BatchId}: gateway rejected {Rejected} sighting(s), first reason: {Reason}")]
    public static partial void ItemsRejected(ILogger logger, string batchId, int rejected, string reason);

    [LoggerMessage(2034, LogLevel.Error, "Batch {BatchId} refused as a whole by the gateway ({Error}); moved to {DeadLetter} so the spool can drain")]
    public static partial void BatchDeadLettered(ILogger logger, string batchId, string error, string deadLetter);

    [LoggerMessage(2035, LogLevel.Warning, "Gateway certificate rejected: {Reason}")]
    public static partial void GatewayCertificateRejected(ILogger logger, string reason);

    [LoggerMessage(2036, LogLevel.Information, "Gateway {Gateway} reachable: it presented {GatewayId}, trust bundle sequence {Sequence} (roots {Roots})")]
    public static partial void GatewayReachable(ILogger logger, string gateway, string gatewayId, ulong sequence, string roots);

    [LoggerMessage(2037, LogLevel.Error, "Cannot reach gateway {Gateway}: {Reason}. Detections are spooled and sent once it is reachable; check gateway.address, gateway.expectedId, tls.root and tls.rootPin in the agent's config")]
    public static partial void GatewayUnreachable(ILogger logger, string gateway, string reason);

    [LoggerMessage(2038, LogLevel.Warning, "Gateway {Gateway} presented a certificate of a root this agent does not trust yet; fetching the domain's trust bundle to follow a root rotation")]
    public static partial void FollowingRotation(ILogger logger, string gateway);

    [LoggerMessage(2039, LogLevel.Warning, "Trust bundle refresh from {Gateway} failed: {Error}")]
    public static partial void TrustBundleFetchFailed(ILogger logger, string gateway, string error);

    [LoggerMessage(2040, LogLevel.Error, "Source {Source} failed; restarting it in {DelayMs} ms")]
    public static partial void SourceFailed(ILogger logger, Exception exception, string source, long delayMs);

    [LoggerMessage(2041, LogLevel.Warning, "Source {Source}: {Path} does not exist (yet); watching for it, it is read from the start once it appears")]
    public static partial void SourceMissing(ILogger logger, string source, string path);

    [LoggerMessage(2042, LogLevel.Information, "Source {Source}: {Path} appeared")]
    public static partial void SourceAppeared(ILogger logger, string source, string path);

    [LoggerMessage(2050, LogLevel.Information, "Accepted trust bundle sequence {Sequence} from {Gateway}: trusted roots now {Roots}; kept in {Path}")]
    public static partial void TrustBundleAccepted(ILogger logger, ulong sequence, string gateway, string roots, string path);

    [LoggerMessage(2051, LogLevel.Error, "Refused the trust bundle served by {Gateway}: {Reason}")]
    public static partial void TrustBundleRefused(ILogger logger, string gateway, string reason);

    [LoggerMessage(2052, LogLevel.Information, "Trust bundle sequence {Sequence} restored from {Path}: trusted roots {Roots}")]
    public static partial void TrustBundleRestored(ILogger logger, ulong sequence, string roots, string path);

    [LoggerMessage(2053, LogLevel.Warning, "Held trust bundle {Path} ignored ({Problem}); trusting only the pinned root of the config")]
    public static partial void TrustBundleIgnored(ILogger logger, string path, string problem);

    [LoggerMessage(2060, LogLevel.Information, "Source {Source}: polling MISP feed {Url} every {Seconds} s")]
    public static partial void FeedPolling(ILogger logger, string source, string url, double seconds);

    [LoggerMessage(2061, LogLevel.Warning, "Source {Source}: MISP feed request {Url} failed: {Reason}; retried at the next poll")]
    public static partial void FeedRequestFailed(ILogger logger, string source, string url, string reason);

    [LoggerMessage(2062, LogLevel.Warning, "Source {Source}: MISP feed manifest {Url} not usable: {Reason}")]
    public static partial void FeedManifestRejected(ILogger logger, string source, string url, string reason);

    [LoggerMessage(2063, LogLevel.Information, "Source {Source}: MISP feed {Url}: {Changed} of {Events} event(s) new or changed, {Failed} failed")]
    public static partial void FeedPolled(ILogger logger, string source, string url, int changed, int events, int failed);

    [LoggerMessage(2064, LogLevel.Debug, "Source {Source}: MISP feed {Url} not modified")]
    public static partial void FeedNotModified(ILogger logger, string source, string url);
}
