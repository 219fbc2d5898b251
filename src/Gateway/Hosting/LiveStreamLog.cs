using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Hosting;

/// <summary>Log messages of the live stream registry (event ids 1100-1109).</summary>
internal static partial class LiveStreamLog
{
    [LoggerMessage(1100, LogLevel.Warning, "Open stream {Method} of {Caller} cut: {Reason}")]
    public static partial void StreamCut(ILogger logger, string method, string caller, string reason);

    [LoggerMessage(1101, LogLevel.Warning, "Connection {ConnectionId} of {Subject} closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId, string subject, string reason);

    [LoggerMessage(1102, LogLevel.Warning, "Outbound stream to {Peer} closed: {Reason}")]
    public static partial void OutboundStreamCut(ILogger logger, string peer, string reason);
}
