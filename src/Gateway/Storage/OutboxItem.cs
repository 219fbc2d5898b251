namespace CyberCoop.Gateway.Storage;

/// <summary>
/// A delivery to one peer. <see cref="EnvelopeBytes"/> holds the serialized SignedBundle; the forwarder seals it
/// to the peer's current KEM key when it sends it (with <see cref="EnvelopeId"/> fixed here, so a re-send is
/// recognised by the receiver). <see cref="HopCount"/> is 0 for content this node originates, n+1 for relays.
/// <see cref="Kind"/> names what <see cref="EnvelopeBytes"/> holds (a SignedBundle unless it is a lifecycle message).
/// When <see cref="IndicatorIds"/> is set (bundles), the store records in the same transaction that
/// <see cref="Peer"/> got each of those indicators of <see cref="Origin"/> from this node, so a later withdrawal by the
/// origin follows exactly that path. <see cref="IndicatorRowIds"/>, when the writer has them at hand (the change feed),
/// holds the stored rows' ids of <see cref="IndicatorIds"/> index for index (0: not known), which key those records.
/// </summary>
internal sealed record OutboxItem(string Peer, byte[] EnvelopeId, byte[] EnvelopeBytes, int IndicatorCount, DateTimeOffset CreatedAt, int HopCount = 0,
    Contracts.V1.PayloadKind Kind = Contracts.V1.PayloadKind.Bundle, string? Origin = null, IReadOnlyList<string>? IndicatorIds = null,
    IReadOnlyList<long>? IndicatorRowIds = null);
