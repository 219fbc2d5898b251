using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Policy;

/// <summary>
/// Decides whether one indicator may be sent to one peer, and produces the redacted copy to send.
/// Every rule is evaluated (no short-circuit) so that `policy test` and the audit log can show all of them;
/// the decision's reason is the first failing rule in this order:
/// tlp-above-ceiling, red-not-allowed, type-not-allowed, below-min-confidence, expired, sector-mismatch,
/// blocked-tag, missing-required-tag, embargoed. Embargo is last so that an embargoed indicator is one that
/// would otherwise be shared, and the caller can schedule it for <see cref="OutboundDecision.EmbargoUntil"/>.
/// </summary>
internal sealed class OutboundPolicyEvaluator
{
    /// <summary>Rule codes, in evaluation order.</summary>
    public static IReadOnlyList<string> RuleCodes { get; } =
    [
        "tlp-above-ceiling", "red-not-allowed", "type-not-allowed", "below-min-confidence", "expired",
        "sector-mismatch", "blocked-tag", "missing-required-tag", "embargoed",
    ];

    /// <summary>Evaluates <paramref name="policy"/> for <paramref name="indicator"/> at <paramref name="now"/>.</summary>
    public OutboundDecision Evaluate(Indicator indicator, OutboundPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentNullException.ThrowIfNull(policy);

        var rules = new List<PolicyRuleResult>(RuleCodes.Count);

        // An unknown or missing marking is handled as RED: the most restrictive reading.
        var tlp = IndicatorLimits.IsKnownTlp(indicator.Tlp) ? indicator.Tlp : Tlp.Red;
        var tlpName = IndicatorLimits.IsKnownTlp(indicator.Tlp) ? TlpNames.ToName(indicator.Tlp) : "unspecified (treated as RED)";
        var ceiling = IndicatorLimits.IsKnownTlp(policy.TlpCeiling) ? policy.TlpCeiling : Tlp.Clear;
        rules.Add(new("tlp-above-ceiling", tlp <= ceiling, $"TLP {tlpName} {(tlp <= ceiling ? "within" : "above")} ceiling {TlpNames.ToName(ceiling)}"));

        var redOk = tlp != Tlp.Red || (policy.AllowRed && ceiling == Tlp.Red);
        rules.Add(new("red-not-allowed", redOk, tlp != Tlp.Red
            ? "not RED"
            : redOk ? "RED and the peer is named for RED" : "RED leaves only to a peer with allowRed and ceiling RED"));

        var typeOk = policy.AllowedTypes.Count == 0 || policy.AllowedTypes.Contains(indicator.Type);
        rules.Add(new("type-not-allowed", typeOk, policy.AllowedTypes.Count == 0
            ? "all types allowed"
            : $"type {TypeName(indicator.Type)} {(typeOk ? "is" : "is not")} in the allowed types"));

        var confidenceOk = indicator.Confidence >= policy.MinConfidence;
        rules.Add(new("below-min-confidence", confidenceOk, $"confidence {indicator.Confidence} {(confidenceOk ? ">=" : "<")} minimum {policy.MinConfidence}"));

        var expired = indicator.ValidUntil is not null && indicator.ValidUntil.ToDateTimeOffset() <= now;
        rules.Add(new("expired", !expired, indicator.ValidUntil is null
            ? "no expiry"
            : $"valid until {indicator.ValidUntil.ToDateTimeOffset():O}{(expired ? ", already passed" : string.Empty)}"));

        var sectorOk = policy.Sectors.Count == 0 || ContainsAny(indicator.Sectors, policy.Sectors, out _);
        rules.Add(new("sector-mismatch", sectorOk, policy.Sectors.Count == 0
            ? "all sectors"
            : sectorOk ? "shares a sector with the peer's sectors" : $"none of the indicator's sectors ({string.Join(", ", indicator.Sectors)}) is in {string.Join(", ", policy.Sectors)}"));

        var blocked = ContainsAny(indicator.Tags, policy.BlockedTags, out var blockedTag);
        rules.Add(new("blocked-tag", !blocked, blocked ? $"carries blocked tag '{blockedTag}'" : "no blocked tag"));

        string? missing = null;
        foreach (var required in policy.RequiredTags)
        {
            if (!ContainsIgnoreCase(indicator.Tags, required))
            {
                missing = required;
                break;
            }
        }

        rules.Add(new("missing-required-tag", missing is null, missing is null ? "carries every required tag" : $"lacks required tag '{missing}'"));

        DateTimeOffset? embargoUntil = null;
        if (policy.Embargo > TimeSpan.Zero)
        {
            var start = indicator.FirstSeen?.ToDateTimeOffset() ?? now;
            var until = start + policy.Embargo;
            if (until > now)
            {
                embargoUntil = until;
            }
        }

        rules.Add(new("embargoed", embargoUntil is null, embargoUntil is null
            ? policy.Embargo > TimeSpan.Zero ? "embargo elapsed" : "no embargo"
            : $"embargoed until {embargoUntil:O}"));

        foreach (var rule in rules)
        {
            if (!rule.Passed)
            {
                return new OutboundDecision
                {
                    Shared = false,
                    Rules = rules,
                    Reason = rule.Code,
                    EmbargoUntil = rule.Code == "embargoed" ? embargoUntil : null,
                };
            }
        }

        return new OutboundDecision
        {
            Shared = true,
            Redacted = Redact(indicator, policy.Redact),
            Rules = rules,
            Reason = OutboundDecision.SharedReason,
        };
    }

    /// <summary>Returns a copy of <paramref name="indicator"/> with the named fields removed.</summary>
    public static Indicator Redact(Indicator indicator, IReadOnlyList<string> fields)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentNullException.ThrowIfNull(fields);
        var copy = indicator.Clone();
        foreach (var field in fields)
        {
            if (string.Equals(field, RedactableFields.Description, StringComparison.OrdinalIgnoreCase))
            {
                copy.Description = string.Empty;
            }
            else if (string.Equals(field, RedactableFields.Tags, StringComparison.OrdinalIgnoreCase))
            {
                copy.Tags.Clear();
            }
            else if (RedactableFields.All.Contains(field))
            {
                foreach (var observation in copy.Observations)
                {
                    RedactObservation(observation, field);
                }
            }
            else
            {
                // Config validation refuses unknown names; failing closed here keeps a bad policy from leaking.
                throw new ArgumentException($"'{field}' is not a redactable field", nameof(fields));
            }
        }

        return copy;
    }

    private static void RedactObservation(Observation observation, string field)
    {
        if (string.Equals(field, RedactableFields.Sensor, StringComparison.OrdinalIgnoreCase))
        {
            observation.Sensor = string.Empty;
        }
        else if (string.Equals(field, RedactableFields.Context, StringComparison.OrdinalIgnoreCase))
        {
            observation.Context.Clear();
        }
        else if (string.Equals(field, RedactableFields.Count, StringComparison.OrdinalIgnoreCase))
        {
            observation.Count = 0;
        }
        else if (string.Equals(field, RedactableFields.Node, StringComparison.OrdinalIgnoreCase))
        {
            observation.Node = string.Empty;
        }
    }

    private static string TypeName(IndicatorType type) =>
        IndicatorTypeNames.IsKnown(type) ? IndicatorTypeNames.ToName(type) : $"unknown({(int)type})";

    private static bool ContainsAny(IReadOnlyList<string> values, IReadOnlyList<string> candidates, out string? found)
    {
        foreach (var candidate in candidates)
        {
            if (ContainsIgnoreCase(values, candidate))
            {
                found = candidate;
                return true;
            }
        }

        found = null;
        return false;
    }

    private static bool ContainsIgnoreCase(IReadOnlyList<string> values, string candidate)
    {
        foreach (var value in values)
        {
            if (string.Equals(value, candidate.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
