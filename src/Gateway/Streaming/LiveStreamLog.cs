using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Streaming;

/// <summary>Log messages of the live stream registry and of first contact (event ids 1100-1109).</summary>
internal static partial class LiveStreamLog
{
    [LoggerMessage(1100, LogLevel.Warning, "Open stream {Method} of {Caller} cut: {Reason}")]
    public static partial void StreamCut(ILogger logger, string method, string caller, string reason);

    [LoggerMessage(1101, LogLevel.Warning, "Connection {ConnectionId} of {Subject} closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId, string subject, string reason);

    [LoggerMessage(1102, LogLevel.Warning, "Outbound stream to {Peer} closed: {Reason}")]
    public static partial void OutboundStreamCut(ILogger logger, string peer, string reason);

    [LoggerMessage(1103, LogLevel.Information, "First contact from {Caller}: its trust domain is not pinned; the connection may only read the trust bundle")]
    public static partial void FirstContactAccepted(ILogger logger, string caller);

    [LoggerMessage(1104, LogLevel.Warning, "First-contact connection from {Subject} refused: {Reason}")]
    public static partial void FirstContactRefused(ILogger logger, string subject, string reason);

    [LoggerMessage(1105, LogLevel.Information, "Trust bundle served to {Caller} (first contact)")]
    public static partial void FirstContactServed(ILogger logger, string caller);
}
