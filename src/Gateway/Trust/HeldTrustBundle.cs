using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// The newest trust bundle accepted from a peer domain, as kept in the database across restarts.
/// </summary>
/// <param name="AnchorPin">
/// Pin of the root the operator had configured for the domain when this bundle's chain of trust began. When the
/// operator re-pins the domain to a root that is neither this pin nor listed in the bundle, the held bundle no longer
/// applies (the operator's explicit pin wins) and trust starts again from the configured root.
/// </param>
/// <param name="Bundle">The verified bundle.</param>
/// <param name="AcceptedAt">When it was accepted.</param>
internal sealed record HeldTrustBundle(string AnchorPin, VerifiedTrustBundle Bundle, DateTimeOffset AcceptedAt)
{
    /// <summary>Whether this bundle continues the trust the operator configured with <paramref name="configuredPin"/>.</summary>
    public bool Continues(string configuredPin) =>
        string.Equals(AnchorPin, configuredPin, StringComparison.Ordinal) || Bundle.RootPins.Contains(configuredPin, StringComparer.Ordinal);
}
