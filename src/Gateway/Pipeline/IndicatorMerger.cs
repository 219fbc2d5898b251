using CyberCoop.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Merges two records of the same indicator (same deterministic id) without losing provenance.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Observations: every source is kept, one per (node, sensor). For the same source, first/last seen widen,
///   the confidence of the more recent sighting wins, context keys are merged (incoming wins, at most 32), and counts
///   are added (<see cref="ObservationMerge.Accumulate"/>) or the larger kept (<see cref="ObservationMerge.LatestState"/>).
///   At most <see cref="IndicatorLimits.MaxObservations"/> are kept; beyond that the least recently seen is dropped.</item>
/// <item>TLP: the maximum of both (a merge never lowers a marking).</item>
/// <item>Confidence: each incoming observation's confidence is first scaled by the trust weight w of its sender
///   (c' = round(w·c)); the record's confidence is then the "noisy OR" of its sources,
///   C = 100·(1 − Π_o (1 − c_o/100)), rounded. Independent sources reinforce each other, while a source repeating
///   itself does not (it has one observation). Without observations it is max(existing, w·incoming).</item>
/// <item>first_seen = min, last_seen = max, valid_until = max where unset means "no expiry" and therefore wins.</item>
/// <item>tags and sectors: union (existing order first), bounded as in validation. Description and origin_domain
///   of the existing record are kept when set.</item>
/// </list>
/// Neither input is modified; the result is a new object.
/// </remarks>
internal static class IndicatorMerger
{
    /// <summary>Returns the merged record; see the type remarks for the rules.</summary>
    public static Indicator Merge(Indicator existing, Indicator incoming, double incomingTrustWeight = 1.0, ObservationMerge mode = ObservationMerge.Accumulate)
    {
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentNullException.ThrowIfNull(incoming);
        if (double.IsNaN(incomingTrustWeight) || incomingTrustWeight is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(incomingTrustWeight), incomingTrustWeight, "trust weight must be between 0 and 1");
        }

        if (!string.Equals(existing.Id, incoming.Id, StringComparison.Ordinal) || existing.Type != incoming.Type ||
            !string.Equals(existing.Value, incoming.Value, StringComparison.Ordinal))
        {
            throw new ArgumentException($"cannot merge different indicators ({existing.Id} and {incoming.Id})", nameof(incoming));
        }

        var result = existing.Clone();
        if (incoming.Tlp > result.Tlp)
        {
            result.Tlp = incoming.Tlp;
        }

        foreach (var observation in incoming.Observations)
        {
            MergeObservation(result, observation, incomingTrustWeight, mode);
        }

        result.Confidence = result.Observations.Count > 0
            ? CombinedConfidence(result.Observations)
            : Math.Max(existing.Confidence, Scale(incoming.Confidence, incomingTrustWeight));

        result.FirstSeen = Min(result.FirstSeen, incoming.FirstSeen);
        result.LastSeen = Max(result.LastSeen, incoming.LastSeen);
        result.ValidUntil = result.ValidUntil is null || incoming.ValidUntil is null ? null : Max(result.ValidUntil, incoming.ValidUntil);

        Union(result.Tags, incoming.Tags, IndicatorLimits.MaxTags);
        Union(result.Sectors, incoming.Sectors, IndicatorLimits.MaxSectors);
        if (result.Description.Length == 0)
        {
            result.Description = incoming.Description;
        }

        if (result.OriginDomain.Length == 0)
        {
            result.OriginDomain = incoming.OriginDomain;
        }

        return result;
    }

    /// <summary>100·(1 − Π(1 − c/100)) over the observations, rounded to the nearest integer.</summary>
    public static uint CombinedConfidence(IReadOnlyCollection<Observation> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var doubt = 1.0;
        foreach (var observation in observations)
        {
            doubt *= 1.0 - (Math.Min(observation.Confidence, 100u) / 100.0);
        }

        return (uint)Math.Clamp(Math.Round(100.0 * (1.0 - doubt), MidpointRounding.AwayFromZero), 0, 100);
    }

    /// <summary>round(w·c), bounded to 0-100.</summary>
    public static uint Scale(uint confidence, double weight) =>
        (uint)Math.Clamp(Math.Round(Math.Min(confidence, 100u) * weight, MidpointRounding.AwayFromZero), 0, 100);

    private static void MergeObservation(Indicator result, Observation incoming, double weight, ObservationMerge mode)
    {
        var confidence = Scale(incoming.Confidence, weight);
        Observation? match = null;
        foreach (var candidate in result.Observations)
        {
            if (string.Equals(candidate.Node, incoming.Node, StringComparison.Ordinal) &&
                string.Equals(candidate.Sensor, incoming.Sensor, StringComparison.Ordinal))
            {
                match = candidate;
                break;
            }
        }

        if (match is null)
        {
            var added = incoming.Clone();
            added.Confidence = confidence;
            if (result.Observations.Count >= IndicatorLimits.MaxObservations)
            {
                DropLeastRecent(result);
            }

            result.Observations.Add(added);
            return;
        }

        match.Count = mode == ObservationMerge.Accumulate
            ? (uint)Math.Min((ulong)match.Count + incoming.Count, uint.MaxValue)
            : Math.Max(match.Count, incoming.Count);
        if (Compare(incoming.LastSeen, match.LastSeen) >= 0)
        {
            match.Confidence = confidence;
        }

        match.FirstSeen = Min(match.FirstSeen, incoming.FirstSeen);
        match.LastSeen = Max(match.LastSeen, incoming.LastSeen);
        foreach (var (key, value) in incoming.Context)
        {
            if (match.Context.ContainsKey(key) || match.Context.Count < IndicatorLimits.MaxContextEntries)
            {
                match.Context[key] = value;
            }
        }
    }

    private static void DropLeastRecent(Indicator result)
    {
        var oldest = 0;
        for (var i = 1; i < result.Observations.Count; i++)
        {
            if (Compare(result.Observations[i].LastSeen, result.Observations[oldest].LastSeen) < 0)
            {
                oldest = i;
            }
        }

        result.Observations.RemoveAt(oldest);
    }

    private static void Union(Google.Protobuf.Collections.RepeatedField<string> target, Google.Protobuf.Collections.RepeatedField<string> source, int max)
    {
        foreach (var item in source)
        {
            if (target.Count >= max)
            {
                return;
            }

            if (!target.Contains(item))
            {
                target.Add(item);
            }
        }
    }

    /// <summary>Orders timestamps with null as "unknown" (smaller than any value).</summary>
    private static int Compare(Timestamp? a, Timestamp? b) => (a, b) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        _ => a.CompareTo(b),
    };

    private static Timestamp? Min(Timestamp? a, Timestamp? b) =>
        a is null ? b?.Clone() : b is null ? a : (a.CompareTo(b) <= 0 ? a : b.Clone());

    private static Timestamp? Max(Timestamp? a, Timestamp? b) =>
        a is null ? b?.Clone() : b is null ? a : (a.CompareTo(b) >= 0 ? a : b.Clone());
}
