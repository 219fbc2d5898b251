using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Policy;

/// <summary>
/// Whether this node may forward received content to a third node: only CLEAR/GREEN, only when the origin set
/// relay_allowed, and only while the next hop stays within the origin's max_hops. AMBER and above stop at the
/// first recipient.
/// </summary>
internal static class RelayRules
{
    /// <param name="i">The indicator as received (its TLP as marked upstream).</param>
    /// <param name="bundleRelayAllowed">The origin's Bundle.relay_allowed.</param>
    /// <param name="hopCount">hop_count of the envelope it arrived in (0 = from the origin).</param>
    /// <param name="maxHops">The origin's Bundle.max_hops: relays allowed after the first delivery.</param>
    public static bool MayRelay(Indicator i, bool bundleRelayAllowed, int hopCount, int maxHops)
    {
        ArgumentNullException.ThrowIfNull(i);
        // Relaying makes hop_count + 1 relays after the first delivery.
        return bundleRelayAllowed && (i.Tlp is Tlp.Clear or Tlp.Green) && hopCount >= 0 && hopCount < maxHops;
    }
}
