using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Hosting;

/// <summary>Log messages of content-key rotation (event ids 1100-1119).</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(1110, LogLevel.Information, "Retired KEM key destroyed after its grace period: {File}")]
    public static partial void RetiredKemKeyDestroyed(ILogger logger, string file);

    [LoggerMessage(1111, LogLevel.Information, "Bundle {BundleId} for {Peer} re-signed: its signing key {KeyId} is no longer announced")]
    public static partial void BundleResigned(ILogger logger, string bundleId, string peer, string keyId);

    [LoggerMessage(1112, LogLevel.Warning, "Relayed bundle {BundleId} for {Peer} dropped: its origin no longer announces the key that signed it")]
    public static partial void RelayedBundleDropped(ILogger logger, string bundleId, string peer);

    [LoggerMessage(1113, LogLevel.Debug, "Trust bundle and key announcements of {Peer} fetched in the background")]
    public static partial void PeerKeysFetched(ILogger logger, string peer);

    [LoggerMessage(1114, LogLevel.Warning, "Background fetch of the keys of {Peer} failed: {Reason}")]
    public static partial void PeerKeyFetchFailed(ILogger logger, string peer, string reason);
}
