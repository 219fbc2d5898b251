using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Inbound;

/// <summary>
/// Applies a peer's inbound policy to one received indicator, in this order:
/// <list type="number">
/// <item>invalid-indicator: the record must be canonical, carry the id this node computes, and respect every limit
///   (<see cref="ReceivedIndicatorValidator"/>).</item>
/// <item>type-not-allowed: the type must be in the policy's allowed types (empty = all).</item>
/// <item>relay-not-entitled: content that was relayed (hop_count &gt; 0) must be CLEAR or GREEN as marked by the
///   origin, the origin must have allowed relay, and hop_count must not exceed the origin's max_hops.</item>
/// <item>then accept or quarantine (policy mode) a copy whose confidence (and each observation's) is scaled by the trust
///   weight and whose TLP is raised to the floor.</item>
/// </list>
/// The evaluated indicator is never modified: when the weight and the floor change nothing (full trust, TLP at or above
/// the floor, the common case) the decision carries the same instance instead of a copy.
/// </summary>
internal sealed class InboundPolicyEvaluator
{
    private readonly TimeProvider _time;

    public InboundPolicyEvaluator(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
    }

    /// <summary>Decides what to do with <paramref name="indicator"/> received under <paramref name="relay"/>.</summary>
    public InboundDecision Evaluate(Indicator indicator, InboundPolicy policy, RelayContext relay)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(relay);

        var invalid = ReceivedIndicatorValidator.Validate(indicator, _time.GetUtcNow());
        if (invalid is not null)
        {
            return Reject("invalid-indicator", invalid);
        }

        if (policy.AllowedTypes.Count > 0 && !policy.AllowedTypes.Contains(indicator.Type))
        {
            return Reject("type-not-allowed", $"type {IndicatorTypeNames.ToName(indicator.Type)} is not accepted from {relay.Sender}");
        }

        if (relay.HopCount < 0)
        {
            return Reject("relay-not-entitled", $"hop count {relay.HopCount} is negative");
        }

        if (relay.HopCount > 0)
        {
            if (indicator.Tlp > Tlp.Green)
            {
                return Reject("relay-not-entitled", $"TLP {TlpNames.ToName(indicator.Tlp)} content from {relay.Origin} may not be relayed (only CLEAR/GREEN), delivered by {relay.Sender}");
            }

            if (!relay.BundleRelayAllowed)
            {
                return Reject("relay-not-entitled", $"origin {relay.Origin} did not allow relay, delivered by {relay.Sender}");
            }

            if (relay.MaxHops is { } maxHops && relay.HopCount > maxHops)
            {
                return Reject("relay-not-entitled", $"hop count {relay.HopCount} exceeds the origin's limit of {maxHops}");
            }
        }

        var weight = double.IsNaN(policy.TrustWeight) ? 0 : Math.Clamp(policy.TrustWeight, 0, 1);
        var raiseTlp = indicator.Tlp < policy.TlpFloor && IndicatorLimits.IsKnownTlp(policy.TlpFloor);
        var adjusted = raiseTlp || ScalingChanges(indicator, weight) ? Adjust(indicator, weight) : indicator;
        if (raiseTlp)
        {
            adjusted.Tlp = policy.TlpFloor;
        }

        if (HasRedactedNode(indicator))
        {
            // An origin sends only its own observations (docs/protocol.md §4.1), so an observation whose node the origin's
            // policy redacted is the origin's: it is stored under the origin's id, which the signed bundle names anyway.
            // Without it the origin's withdrawal (§13.1 step 5) and this node's sighting reports could not find the
            // origin, and two origins' redacted observations would merge as one source.
            adjusted = ReferenceEquals(adjusted, indicator) ? indicator.Clone() : adjusted;
            foreach (var observation in adjusted.Observations)
            {
                if (observation.Node.Length == 0)
                {
                    observation.Node = relay.Origin;
                }
            }
        }

        return policy.Mode == InboundMode.Accept
            ? new InboundDecision { Action = InboundAction.Accept, Indicator = adjusted, Reason = "accepted" }
            : new InboundDecision { Action = InboundAction.Quarantine, Indicator = adjusted, Reason = "quarantined", Detail = $"inbound policy for {relay.Sender} quarantines" };
    }

    private static bool HasRedactedNode(Indicator indicator)
    {
        foreach (var observation in indicator.Observations)
        {
            if (observation.Node.Length == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the trust weight changes the indicator's or any observation's confidence.</summary>
    private static bool ScalingChanges(Indicator indicator, double weight)
    {
        if (IndicatorMerger.Scale(indicator.Confidence, weight) != indicator.Confidence)
        {
            return true;
        }

        foreach (var observation in indicator.Observations)
        {
            if (IndicatorMerger.Scale(observation.Confidence, weight) != observation.Confidence)
            {
                return true;
            }
        }

        return false;
    }

    private static Indicator Adjust(Indicator indicator, double weight)
    {
        var adjusted = indicator.Clone();
        adjusted.Confidence = IndicatorMerger.Scale(adjusted.Confidence, weight);
        foreach (var observation in adjusted.Observations)
        {
            observation.Confidence = IndicatorMerger.Scale(observation.Confidence, weight);
        }

        return adjusted;
    }

    private static InboundDecision Reject(string code, string detail) =>
        new() { Action = InboundAction.Reject, Reason = code, Detail = detail };
}
