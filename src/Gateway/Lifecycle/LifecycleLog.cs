using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>Log messages of the intelligence lifecycle (withdrawals, suppressions, sightings back, expiry), event ids 1200-1219.</summary>
internal static partial class LifecycleLog
{
    [LoggerMessage(1200, LogLevel.Information, "Indicator {IndicatorId} withdrawn by this node (origin); queued to {Peers} peers")]
    public static partial void Withdrew(ILogger logger, string indicatorId, int peers);

    [LoggerMessage(1201, LogLevel.Information, "Withdrawal of {IndicatorId} by {Origin} applied (from {Sender}, hop {Hop}); relayed to {Relays} peers")]
    public static partial void WithdrawalApplied(ILogger logger, string indicatorId, string origin, string sender, uint hop, int relays);

    [LoggerMessage(1202, LogLevel.Information, "Indicator {IndicatorId} suppressed locally")]
    public static partial void Suppressed(ILogger logger, string indicatorId);

    [LoggerMessage(1203, LogLevel.Information, "Sighting report to {Origin}: {Indicators} indicators, {Sightings} sightings")]
    public static partial void SightingsReported(ILogger logger, string origin, int indicators, long sightings);

    [LoggerMessage(1204, LogLevel.Information, "Sighting report from {Reporter}: {Indicators} indicators accepted")]
    public static partial void SightingsReceived(ILogger logger, string reporter, int indicators);

    [LoggerMessage(1205, LogLevel.Error, "Sightings reporter failed; retrying")]
    public static partial void ReporterFailed(ILogger logger, Exception exception);

    [LoggerMessage(1206, LogLevel.Information, "Expiry: pruned {Count} indicators expired before {Cutoff}")]
    public static partial void Pruned(ILogger logger, int count, DateTimeOffset cutoff);

    [LoggerMessage(1207, LogLevel.Information, "Sighting report of {Reporter} for {Origin} (from {Sender}, hop {Hop}) forwarded to {NextHop}")]
    public static partial void SightingsForwarded(ILogger logger, string reporter, string origin, string sender, uint hop, string nextHop);

    [LoggerMessage(1208, LogLevel.Information, "Sighting report of {Reporter} for {Origin} (from {Sender}) withheld: {Reason}")]
    public static partial void SightingsWithheld(ILogger logger, string reporter, string origin, string sender, string reason);
}
