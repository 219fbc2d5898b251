namespace CyberCoop.Gateway.Storage;

/// <summary>Outbox state of one peer, for `status`.</summary>
internal sealed record OutboxStats(long Depth, long Indicators, DateTimeOffset? OldestCreatedAt);
