namespace CyberCoop.Gateway.Storage;

/// <summary>
/// A delivery to one peer. <see cref="EnvelopeBytes"/> holds the serialized SignedBundle; the forwarder seals it
/// to the peer's current KEM key when it sends it (with <see cref="EnvelopeId"/> fixed here, so a re-send is
/// recognised by the receiver). <see cref="HopCount"/> is 0 for content this node originates, n+1 for relays.
/// </summary>
internal sealed record OutboxItem(string Peer, byte[] EnvelopeId, byte[] EnvelopeBytes, int IndicatorCount, DateTimeOffset CreatedAt, int HopCount = 0);
