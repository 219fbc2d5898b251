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

        var c = Check(indicator, policy, now);
        var rules = new List<PolicyRuleResult>(RuleCodes.Count);

        var tlpName = IndicatorLimits.IsKnownTlp(indicator.Tlp) ? TlpNames.ToName(indicator.Tlp) : "unspecified (treated as RED)";
        rules.Add(new("tlp-above-ceiling", c.TlpOk, $"TLP {tlpName} {(c.TlpOk ? "within" : "above")} ceiling {TlpNames.ToName(c.Ceiling)}"));

        rules.Add(new("red-not-allowed", c.RedOk, c.Tlp != Tlp.Red
            ? "not RED"
            : c.RedOk ? "RED and the peer is named for RED" : "RED leaves only to a peer with allowRed and ceiling RED"));

        rules.Add(new("type-not-allowed", c.TypeOk, policy.AllowedTypes.Count == 0
            ? "all types allowed"
            : $"type {TypeName(indicator.Type)} {(c.TypeOk ? "is" : "is not")} in the allowed types"));

        rules.Add(new("below-min-confidence", c.ConfidenceOk, $"confidence {indicator.Confidence} {(c.ConfidenceOk ? ">=" : "<")} minimum {policy.MinConfidence}"));

        rules.Add(new("expired", !c.Expired, indicator.ValidUntil is null
            ? "no expiry"
            : $"valid until {indicator.ValidUntil.ToDateTimeOffset():O}{(c.Expired ? ", already passed" : string.Empty)}"));

        rules.Add(new("sector-mismatch", c.SectorOk, policy.Sectors.Count == 0
            ? "all sectors"
            : c.SectorOk ? "shares a sector with the peer's sectors" : $"none of the indicator's sectors ({string.Join(", ", indicator.Sectors)}) is in {string.Join(", ", policy.Sectors)}"));

        rules.Add(new("blocked-tag", c.BlockedTag is null, c.BlockedTag is not null ? $"carries blocked tag '{c.BlockedTag}'" : "no blocked tag"));

        rules.Add(new("missing-required-tag", c.MissingTag is null, c.MissingTag is null ? "carries every required tag" : $"lacks required tag '{c.MissingTag}'"));

        rules.Add(new("embargoed", c.EmbargoUntil is null, c.EmbargoUntil is null
            ? policy.Embargo > TimeSpan.Zero ? "embargo elapsed" : "no embargo"
            : $"embargoed until {c.EmbargoUntil:O}"));

        var reason = c.FirstFailure();
        if (reason is not null)
        {
            return new OutboundDecision
            {
                Shared = false,
                Rules = rules,
                Reason = reason,
                EmbargoUntil = reason == EmbargoedCode ? c.EmbargoUntil : null,
            };
        }

        return new OutboundDecision
        {
            Shared = true,
            Redacted = Redact(indicator, policy.Redact),
            Rules = rules,
            Reason = OutboundDecision.SharedReason,
        };
    }

    /// <summary>
    /// The same decision as <see cref="Evaluate"/> without the per-rule details and without redacting: the dispatcher's
    /// path, run for every (indicator, peer) pair. Returns <see cref="OutboundDecision.SharedReason"/> or the code of the
    /// first failing rule; <paramref name="embargoUntil"/> is set when that code is "embargoed".
    /// </summary>
    public static string Decide(Indicator indicator, OutboundPolicy policy, DateTimeOffset now, out DateTimeOffset? embargoUntil)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentNullException.ThrowIfNull(policy);
        var c = Check(indicator, policy, now);
        var reason = c.FirstFailure();
        embargoUntil = reason == EmbargoedCode ? c.EmbargoUntil : null;
        return reason ?? OutboundDecision.SharedReason;
    }

    private const string EmbargoedCode = "embargoed";

    /// <summary>Every rule's outcome; <see cref="Evaluate"/> and <see cref="Decide"/> both read this, so they cannot disagree.</summary>
    private readonly record struct Checks(
        Tlp Tlp, Tlp Ceiling, bool TlpOk, bool RedOk, bool TypeOk, bool ConfidenceOk, bool Expired, bool SectorOk,
        string? BlockedTag, string? MissingTag, DateTimeOffset? EmbargoUntil)
    {
        /// <summary>The code of the first failing rule in <see cref="RuleCodes"/> order, or null when every rule passes.</summary>
        public string? FirstFailure() =>
            !TlpOk ? "tlp-above-ceiling"
            : !RedOk ? "red-not-allowed"
            : !TypeOk ? "type-not-allowed"
            : !ConfidenceOk ? "below-min-confidence"
            : Expired ? "expired"
            : !SectorOk ? "sector-mismatch"
            : BlockedTag is not null ? "blocked-tag"
            : MissingTag is not null ? "missing-required-tag"
            : EmbargoUntil is not null ? EmbargoedCode
            : null;
    }

    private static Checks Check(Indicator indicator, OutboundPolicy policy, DateTimeOffset now)
    {
        // An unknown or missing marking is handled as RED: the most restrictive reading.
        var tlp = IndicatorLimits.IsKnownTlp(indicator.Tlp) ? indicator.Tlp : Tlp.Red;
        var ceiling = IndicatorLimits.IsKnownTlp(policy.TlpCeiling) ? policy.TlpCeiling : Tlp.Clear;
        var redOk = tlp != Tlp.Red || (policy.AllowRed && ceiling == Tlp.Red);
        var typeOk = policy.AllowedTypes.Count == 0 || Contains(policy.AllowedTypes, indicator.Type);
        var confidenceOk = indicator.Confidence >= policy.MinConfidence;
        var expired = indicator.ValidUntil is not null && indicator.ValidUntil.ToDateTimeOffset() <= now;
        var sectorOk = policy.Sectors.Count == 0 || ContainsAny(indicator.Sectors, policy.Sectors, out _);
        ContainsAny(indicator.Tags, policy.BlockedTags, out var blockedTag);

        string? missing = null;
        for (var i = 0; i < policy.RequiredTags.Count; i++)
        {
            if (!ContainsIgnoreCase(indicator.Tags, policy.RequiredTags[i]))
            {
                missing = policy.RequiredTags[i];
                break;
            }
        }

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

        return new Checks(tlp, ceiling, tlp <= ceiling, redOk, typeOk, confidenceOk, expired, sectorOk, blockedTag, missing, embargoUntil);
    }

    /// <summary>Compiles a policy's redaction list; throws for a name that is not redactable (fail closed).</summary>
    public static RedactionMask MaskOf(IReadOnlyList<string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var mask = RedactionMask.None;
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            mask |= field switch
            {
                _ when string.Equals(field, RedactableFields.Description, StringComparison.OrdinalIgnoreCase) => RedactionMask.Description,
                _ when string.Equals(field, RedactableFields.Tags, StringComparison.OrdinalIgnoreCase) => RedactionMask.Tags,
                _ when string.Equals(field, RedactableFields.Sensor, StringComparison.OrdinalIgnoreCase) => RedactionMask.Sensor,
                _ when string.Equals(field, RedactableFields.Context, StringComparison.OrdinalIgnoreCase) => RedactionMask.Context,
                _ when string.Equals(field, RedactableFields.Count, StringComparison.OrdinalIgnoreCase) => RedactionMask.Count,
                _ when string.Equals(field, RedactableFields.Node, StringComparison.OrdinalIgnoreCase) => RedactionMask.Node,
                // Config validation refuses unknown names; failing closed here keeps a bad policy from leaking.
                _ => throw new ArgumentException($"'{field}' is not a redactable field", nameof(fields)),
            };
        }

        return mask;
    }

    /// <summary>
    /// Returns <paramref name="indicator"/> with the named fields removed: a copy when the redaction removes something,
    /// else the same instance (nothing to remove, so nothing to copy). The argument is never modified.
    /// </summary>
    public static Indicator Redact(Indicator indicator, IReadOnlyList<string> fields) => Redact(indicator, MaskOf(fields));

    /// <inheritdoc cref="Redact(Indicator, IReadOnlyList{string})"/>
    public static Indicator Redact(Indicator indicator, RedactionMask mask)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        if (!RemovesAnything(indicator, mask))
        {
            return indicator;
        }

        // Built field by field rather than Clone() then cleared: a clone deep-copies every observation's context map
        // only for the redaction to clear it again. RedactionTests checks that every field of Indicator and Observation
        // is handled here, so a field added to the proto cannot be dropped silently.
        var copy = new Indicator
        {
            Id = indicator.Id,
            Type = indicator.Type,
            Value = indicator.Value,
            Tlp = indicator.Tlp,
            Confidence = indicator.Confidence,
            FirstSeen = indicator.FirstSeen?.Clone(),
            LastSeen = indicator.LastSeen?.Clone(),
            ValidUntil = indicator.ValidUntil?.Clone(),
            Description = (mask & RedactionMask.Description) != 0 ? string.Empty : indicator.Description,
            OriginDomain = indicator.OriginDomain,
        };
        if ((mask & RedactionMask.Tags) == 0)
        {
            copy.Tags.Add(indicator.Tags);
        }

        copy.Sectors.Add(indicator.Sectors);
        foreach (var observation in indicator.Observations)
        {
            var o = new Observation
            {
                Node = (mask & RedactionMask.Node) != 0 ? string.Empty : observation.Node,
                Sensor = (mask & RedactionMask.Sensor) != 0 ? string.Empty : observation.Sensor,
                Count = (mask & RedactionMask.Count) != 0 ? 0 : observation.Count,
                FirstSeen = observation.FirstSeen?.Clone(),
                LastSeen = observation.LastSeen?.Clone(),
                Confidence = observation.Confidence,
            };
            if ((mask & RedactionMask.Context) == 0)
            {
                o.Context.Add(observation.Context);
            }

            copy.Observations.Add(o);
        }

        return copy;
    }

    /// <summary>True when redacting <paramref name="mask"/> from <paramref name="indicator"/> changes it.</summary>
    private static bool RemovesAnything(Indicator indicator, RedactionMask mask)
    {
        if (((mask & RedactionMask.Description) != 0 && indicator.Description.Length > 0) ||
            ((mask & RedactionMask.Tags) != 0 && indicator.Tags.Count > 0))
        {
            return true;
        }

        if ((mask & RedactionMask.ObservationFields) == 0)
        {
            return false;
        }

        foreach (var o in indicator.Observations)
        {
            if (((mask & RedactionMask.Sensor) != 0 && o.Sensor.Length > 0) ||
                ((mask & RedactionMask.Context) != 0 && o.Context.Count > 0) ||
                ((mask & RedactionMask.Count) != 0 && o.Count != 0) ||
                ((mask & RedactionMask.Node) != 0 && o.Node.Length > 0))
            {
                return true;
            }
        }

        return false;
    }

    private static string TypeName(IndicatorType type) =>
        IndicatorTypeNames.IsKnown(type) ? IndicatorTypeNames.ToName(type) : $"unknown({(int)type})";

    private static bool Contains(IReadOnlyList<IndicatorType> types, IndicatorType type)
    {
        for (var i = 0; i < types.Count; i++)
        {
            if (types[i] == type)
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsAny(IReadOnlyList<string> values, IReadOnlyList<string> candidates, out string? found)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            if (ContainsIgnoreCase(values, candidates[i]))
            {
                found = candidates[i];
                return true;
            }
        }

        found = null;
        return false;
    }

    private static bool ContainsIgnoreCase(IReadOnlyList<string> values, string candidate)
    {
        var wanted = candidate.AsSpan().Trim();
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i].AsSpan().Equals(wanted, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
