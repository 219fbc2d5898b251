using CyberCoop.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// What one indicator contributes to a sighting report for one origin. Built only from numbers and times of this
/// node's own observations (their sensor, context and every other field are never read) and, for
/// <see cref="SightingsBackLevel.CountsAndSector"/>, the sector labels of the indicator as given (the reporter passes its
/// origin view, so these are its own sensors' sectors).
/// </summary>
internal static class SightingsReport
{
    /// <summary>Most entries in one report (the receiver refuses more).</summary>
    public const int MaxEntries = 10_000;

    /// <summary>Most sectors in one entry.</summary>
    public const int MaxSectors = 32;

    /// <summary>
    /// The entry for <paramref name="indicator"/>: count = this node's sightings (sum of its own observations' counts)
    /// minus <paramref name="alreadyReported"/>; first/last seen = this node's first and last sighting, no later than
    /// <paramref name="now"/>; null when there is nothing new to report. Also returns the new total to remember as reported.
    /// </summary>
    /// <remarks>
    /// Agents' sightings are accepted up to 24 hours ahead (a sensor's clock may be fast), but a receiver refuses a whole
    /// report with a time beyond its own clock skew allowance (docs/protocol.md §13.2): the times are capped at this
    /// node's clock, so one fast sensor cannot cost the origin every count in the report.
    /// </remarks>
    public static (SightingCount? Entry, long Total) Entry(Indicator indicator, string self, long alreadyReported, SightingsBackLevel level, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        long total = 0;
        Timestamp? first = null;
        Timestamp? last = null;
        foreach (var observation in indicator.Observations)
        {
            if (observation.Node != self)
            {
                continue;
            }

            // An observation whose count was redacted (0) still stands for at least one sighting.
            total += Math.Max(1u, observation.Count);
            if (observation.FirstSeen is { } f && (first is null || f < first))
            {
                first = f;
            }

            if (observation.LastSeen is { } l && (last is null || l > last))
            {
                last = l;
            }
        }

        var delta = total - alreadyReported;
        if (level == SightingsBackLevel.Off || delta <= 0 || first is null || last is null)
        {
            return (null, Math.Max(total, alreadyReported));
        }

        var cap = Timestamp.FromDateTimeOffset(now);
        var entry = new SightingCount
        {
            IndicatorId = indicator.Id,
            Count = (uint)Math.Min(delta, uint.MaxValue),
            FirstSeen = (first > cap ? cap : first).Clone(),
            LastSeen = (last > cap ? cap : last).Clone(),
        };
        if (level == SightingsBackLevel.CountsAndSector)
        {
            entry.Sectors.Add(indicator.Sectors.Take(MaxSectors));
        }

        return (entry, total);
    }
}
