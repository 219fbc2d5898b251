namespace CyberCoop.Gateway.Storage;

/// <summary>An outbox row; <see cref="Seq"/> increases strictly and is never reused, so it is a resume cursor.</summary>
internal sealed record OutboxEntry(long Seq, string Peer, byte[] EnvelopeId, byte[] EnvelopeBytes, int IndicatorCount, DateTimeOffset CreatedAt, int HopCount = 0,
    Contracts.V1.PayloadKind Kind = Contracts.V1.PayloadKind.Bundle);
