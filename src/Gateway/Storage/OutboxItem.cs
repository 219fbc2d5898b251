namespace CyberCoop.Gateway.Storage;

/// <summary>A sealed envelope to deliver to one peer.</summary>
internal sealed record OutboxItem(string Peer, byte[] EnvelopeId, byte[] EnvelopeBytes, int IndicatorCount, DateTimeOffset CreatedAt);
