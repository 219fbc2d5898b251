namespace CyberCoop.Gateway.Storage;

/// <summary>
/// A committed envelope id in the replay store and the bundle it carried; both null for rows committed before the
/// store recorded them (schema version 8).
/// </summary>
internal sealed record SeenEnvelope(string? Origin, byte[]? BundleId)
{
    /// <summary>
    /// True when a copy carrying the bundle (<paramref name="origin"/>, <paramref name="bundleId"/>) is a re-send of
    /// this envelope (always true for a row that did not record its bundle).
    /// </summary>
    public bool Carries(string origin, ReadOnlySpan<byte> bundleId) =>
        Origin is null || BundleId is null || (string.Equals(Origin, origin, StringComparison.Ordinal) && bundleId.SequenceEqual(BundleId));
}
