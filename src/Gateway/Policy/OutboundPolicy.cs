using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Policy;

/// <summary>
/// What this node lets leave the country towards one peer (sovereignty). Bound from the peer's
/// "outbound" config section; defaults are the conservative choice.
/// </summary>
internal sealed record OutboundPolicy
{
    /// <summary>Highest TLP sent to the peer. Default AMBER.</summary>
    public Tlp TlpCeiling { get; init; } = Tlp.Amber;

    /// <summary>RED leaves only when this is true AND <see cref="TlpCeiling"/> is RED (the peer is named for RED).</summary>
    public bool AllowRed { get; init; }

    /// <summary>Types sent; empty means all.</summary>
    public IReadOnlyList<IndicatorType> AllowedTypes { get; init; } = [];

    /// <summary>Minimum combined confidence (0-100).</summary>
    public int MinConfidence { get; init; }

    /// <summary>When not empty, an indicator is sent only if it shares at least one sector (case-insensitive).</summary>
    public IReadOnlyList<string> Sectors { get; init; } = [];

    /// <summary>An indicator carrying any of these tags is withheld.</summary>
    public IReadOnlyList<string> BlockedTags { get; init; } = [];

    /// <summary>An indicator must carry every one of these tags.</summary>
    public IReadOnlyList<string> RequiredTags { get; init; } = [];

    /// <summary>
    /// Fields removed from what the peer receives (<see cref="RedactableFields"/>). By default the origin's sensor
    /// names and sensor context are not disclosed, as national sharing programmes anonymise submitters.
    /// </summary>
    public IReadOnlyList<string> Redact { get; init; } = [RedactableFields.Sensor, RedactableFields.Context];

    /// <summary>Indicators are withheld until first_seen + Embargo. Zero = no embargo.</summary>
    public TimeSpan Embargo { get; init; }

    /// <summary>Whether the peer may relay CLEAR/GREEN content further (sets the bundle's relay_allowed).</summary>
    public bool AllowRelay { get; init; }

    /// <summary>
    /// Checks every setting without stopping at the first problem; each error starts with
    /// <paramref name="path"/> and the field name.
    /// </summary>
    public IReadOnlyList<string> Validate(string path)
    {
        var errors = new List<string>();
        if (!Pipeline.IndicatorLimits.IsKnownTlp(TlpCeiling))
        {
            errors.Add($"{path}.tlpCeiling: must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED");
        }

        if (AllowRed && TlpCeiling != Tlp.Red)
        {
            errors.Add($"{path}.allowRed: has no effect unless tlpCeiling is RED; set both to name this peer for RED, or neither");
        }

        if (MinConfidence is < 0 or > 100)
        {
            errors.Add($"{path}.minConfidence: {MinConfidence} is outside 0-100");
        }

        if (Embargo < TimeSpan.Zero)
        {
            errors.Add($"{path}.embargo: must not be negative");
        }

        CheckList(AllowedTypes, t => !IndicatorTypeNames.IsKnown(t), i => $"{path}.allowedTypes[{i}]: unknown indicator type", errors, $"{path}.allowedTypes");
        CheckList(Sectors, string.IsNullOrWhiteSpace, i => $"{path}.sectors[{i}]: is empty", errors, $"{path}.sectors");
        CheckList(BlockedTags, string.IsNullOrWhiteSpace, i => $"{path}.blockedTags[{i}]: is empty", errors, $"{path}.blockedTags");
        CheckList(RequiredTags, string.IsNullOrWhiteSpace, i => $"{path}.requiredTags[{i}]: is empty", errors, $"{path}.requiredTags");
        CheckList(Redact, f => f is null || !RedactableFields.All.Contains(f), i => $"{path}.redact[{i}]: '{Redact[i]}' is not a redactable field (sensor, context, count, node, description, tags)", errors, $"{path}.redact");
        return errors;
    }

    private static void CheckList<T>(IReadOnlyList<T>? list, Func<T, bool> isBad, Func<int, string> error, List<string> errors, string field)
    {
        if (list is null)
        {
            errors.Add($"{field}: must not be null");
            return;
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (isBad(list[i]))
            {
                errors.Add(error(i));
            }
        }
    }
}
