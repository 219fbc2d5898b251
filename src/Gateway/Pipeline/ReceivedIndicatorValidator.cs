using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Checks an indicator received from a peer before any policy looks at it: the value must already be
/// canonical, the id must be the one this node computes (indicator.proto: "receivers recompute and reject a
/// mismatch"), and every field must be within the limits agents are held to.
/// </summary>
internal static class ReceivedIndicatorValidator
{
    /// <summary>Returns null when valid, else the reason naming the field.</summary>
    public static string? Validate(Indicator indicator, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        if (!IndicatorTypeNames.IsKnown(indicator.Type))
        {
            return indicator.Type == IndicatorType.Unspecified ? "type: is unspecified" : $"type: unknown indicator type {(int)indicator.Type}";
        }

        var normalized = IndicatorNormalizer.Normalize(indicator.Type, indicator.Value);
        if (!normalized.Ok)
        {
            return normalized.Error;
        }

        if (!string.Equals(normalized.Value, indicator.Value, StringComparison.Ordinal))
        {
            return $"value: '{IndicatorNormalizer.Quote(indicator.Value)}' is not in canonical form (expected '{IndicatorNormalizer.Quote(normalized.Value)}')";
        }

        var expectedId = IndicatorIds.Compute(indicator.Type, indicator.Value);
        if (!string.Equals(expectedId, indicator.Id, StringComparison.Ordinal))
        {
            return $"id: '{IndicatorNormalizer.Quote(indicator.Id)}' does not match the value (expected {expectedId})";
        }

        if (!IndicatorLimits.IsKnownTlp(indicator.Tlp))
        {
            return indicator.Tlp == Tlp.Unspecified ? "tlp: is unspecified" : $"tlp: unknown TLP value {(int)indicator.Tlp}";
        }

        if (indicator.Confidence > 100)
        {
            return $"confidence: {indicator.Confidence} is above 100";
        }

        var latest = now + IndicatorLimits.FutureSkew;
        if ((indicator.FirstSeen is not null ? IndicatorLimits.CheckTimestamp(indicator.FirstSeen, "first_seen", latest, out _) : null) is { } e1)
        {
            return e1;
        }

        if ((indicator.LastSeen is not null ? IndicatorLimits.CheckTimestamp(indicator.LastSeen, "last_seen", latest, out _) : null) is { } e2)
        {
            return e2;
        }

        if ((indicator.ValidUntil is not null ? IndicatorLimits.CheckTimestamp(indicator.ValidUntil, "valid_until", DateTimeOffset.MaxValue, out _) : null) is { } e3)
        {
            return e3;
        }

        var problem = CheckLabels(indicator.Tags, "tags", IndicatorLimits.MaxTags)
            ?? CheckLabels(indicator.Sectors, "sectors", IndicatorLimits.MaxSectors)
            ?? IndicatorLimits.CheckDescription(indicator.Description)
            ?? IndicatorLimits.CheckName(indicator.OriginDomain, "origin_domain", 253);
        if (problem is not null)
        {
            return problem;
        }

        if (indicator.Observations.Count > IndicatorLimits.MaxObservations)
        {
            return $"observations: {indicator.Observations.Count} entries, at most {IndicatorLimits.MaxObservations} allowed";
        }

        for (var i = 0; i < indicator.Observations.Count; i++)
        {
            // The field name ("observations[3]") is only built for the message of a bad observation: checking with an
            // empty prefix first keeps the valid case free of string building (the checks are deterministic).
            var o = indicator.Observations[i];
            if (CheckObservation(o, string.Empty, latest) is not null)
            {
                return CheckObservation(o, $"observations[{i}]", latest);
            }
        }

        return null;
    }

    private static string? CheckObservation(Observation o, string field, DateTimeOffset latest) =>
        IndicatorLimits.CheckName(o.Node, field + ".node", IndicatorLimits.MaxSensorLength)
            ?? IndicatorLimits.CheckName(o.Sensor, field + ".sensor", IndicatorLimits.MaxSensorLength)
            ?? IndicatorLimits.CheckContext(o.Context, field + ".context")
            ?? (o.Confidence > 100 ? $"{field}.confidence: {o.Confidence} is above 100" : null)
            ?? (o.FirstSeen is not null ? IndicatorLimits.CheckTimestamp(o.FirstSeen, field + ".first_seen", latest, out _) : null)
            ?? (o.LastSeen is not null ? IndicatorLimits.CheckTimestamp(o.LastSeen, field + ".last_seen", latest, out _) : null);

    private static string? CheckLabels(IReadOnlyList<string> labels, string field, int max)
    {
        if (labels.Count > max)
        {
            return $"{field}: {labels.Count} entries, at most {max} allowed";
        }

        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            if (label.Length == 0 || label.Length > IndicatorLimits.MaxLabelLength)
            {
                return $"{field}[{i}]: must be 1-{IndicatorLimits.MaxLabelLength} characters";
            }

            foreach (var c in label)
            {
                if (char.IsControl(c) || char.IsUpper(c))
                {
                    return $"{field}[{i}]: must be lower case without control characters";
                }
            }
        }

        return null;
    }
}
