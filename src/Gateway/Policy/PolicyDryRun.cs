using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Policy;

/// <summary>
/// The policy dry run behind <c>policy test</c> and the web console's policy page: normalize an indicator as ingest
/// would, then evaluate a peer's outbound policy on it. Changes nothing. One code path, so both answer alike.
/// </summary>
internal static class PolicyDryRun
{
    /// <summary>
    /// Normalizes <paramref name="sighting"/> as the node <paramref name="nodeId"/> would on ingest; the error is the
    /// reason ingest would reject it.
    /// </summary>
    public static (Indicator? Normalized, string? Error) Normalize(Sighting sighting, string nodeId, TimeProvider time)
    {
        var outcome = new SightingValidator(time).Validate(sighting, nodeId, "policy-test");
        return outcome.IsValid ? (outcome.Indicator, null) : (null, outcome.Error);
    }

    /// <summary>What <paramref name="peer"/> would receive of <paramref name="normalized"/> now, and every rule that decided it.</summary>
    public static OutboundDecision Evaluate(Indicator normalized, PeerConfig peer, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return new OutboundPolicyEvaluator().Evaluate(normalized, PolicyMapper.ToOutbound(peer.Outbound), now);
    }

    /// <summary>The decision in one phrase: <c>SHARED</c>, <c>EMBARGOED until …</c> or <c>WITHHELD (reason)</c>.</summary>
    public static string Summary(OutboundDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return decision.Shared
            ? "SHARED"
            : decision.EmbargoUntil is { } until
                ? $"EMBARGOED until {until:O} (shared then if nothing else changes)"
                : $"WITHHELD ({decision.Reason})";
    }
}
