using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// First contact between two trust domains: before an operator pins a peer's root, <c>peers add --fetch</c> on the
/// other side must be able to read this node's trust bundle (public and self-authenticating: roots, revoked
/// serials, signed key announcements). A client certificate that is a well-formed gateway certificate (SPIFFE id,
/// validity, key usage, not revoked) of a trust domain this node does not pin passes the TLS handshake, but its
/// connection may only call GetTrustBundle, lives at most <see cref="Lifetime"/> and few such connections are open
/// at once. A certificate claiming a pinned domain must chain to that domain's root, as always.
/// </summary>
internal static class FirstContact
{
    /// <summary>Longest a first-contact connection stays open.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10);

    /// <summary>Most first-contact connections open at once; more are closed at once.</summary>
    public const int MaxConnections = 8;

    /// <summary>True when <paramref name="result"/> rejected only because the gateway's trust domain is not pinned here.</summary>
    public static bool Admits(ChainValidationResult result) =>
        !result.IsValid && result.Rejection == ChainRejection.UnknownTrustDomain && result.Id is { Kind: WorkloadKind.Gateway };
}
