using System.Text;
using CyberCoop.Contracts.V1;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Field limits shared by sighting validation (agents) and received-indicator validation (peers),
/// and the checks that enforce them. Each check returns null or an error naming the field.
/// </summary>
internal static class IndicatorLimits
{
    /// <summary>Tags per indicator (indicator.proto).</summary>
    public const int MaxTags = 64;

    /// <summary>Sectors per indicator.</summary>
    public const int MaxSectors = 16;

    /// <summary>Length of one tag or sector in characters.</summary>
    public const int MaxLabelLength = 64;

    /// <summary>Description length in UTF-8 bytes (indicator.proto).</summary>
    public const int MaxDescriptionBytes = 1024;

    /// <summary>Context entries per observation.</summary>
    public const int MaxContextEntries = 32;

    /// <summary>Length of a context key or value in characters.</summary>
    public const int MaxContextLength = 256;

    /// <summary>Length of a sensor name in characters (agent name + "/" + sensor).</summary>
    public const int MaxSensorLength = 256;

    /// <summary>Observations kept per indicator; beyond it the least recently seen is dropped on merge.</summary>
    public const int MaxObservations = 256;

    /// <summary>Timestamps before this are absurd for threat intelligence.</summary>
    public static readonly DateTimeOffset Earliest = new(1990, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How far in the future a sighting may be dated (clock skew between sensor and gateway).</summary>
    public static readonly TimeSpan FutureSkew = TimeSpan.FromDays(1);

    /// <summary>
    /// Lower-cases, trims, dedupes (first occurrence order) and checks a list of tags or sectors
    /// into <paramref name="target"/>. Empty entries are dropped.
    /// </summary>
    public static string? NormalizeLabels(IReadOnlyList<string> source, RepeatedField<string> target, string field, int maxCount)
    {
        for (var i = 0; i < source.Count; i++)
        {
            var raw = source[i];
            if (raw is null)
            {
                return $"{field}[{i}]: is null";
            }

            var trimmed = raw.AsSpan().Trim();
            if (trimmed.IsEmpty)
            {
                continue;
            }

            if (trimmed.Length > MaxLabelLength)
            {
                return $"{field}[{i}]: is longer than {MaxLabelLength} characters";
            }

            foreach (var c in trimmed)
            {
                if (char.IsControl(c))
                {
                    return $"{field}[{i}]: contains a control character";
                }
            }

            // ToLowerInvariant returns the string itself when it is already lower case: no copy for a clean label.
            var label = (trimmed.Length == raw.Length ? raw : trimmed.ToString()).ToLowerInvariant();
            if (!target.Contains(label))
            {
                if (target.Count == maxCount)
                {
                    return $"{field}: more than {maxCount} distinct entries";
                }

                target.Add(label);
            }
        }

        return null;
    }

    /// <summary>Checks the description length and characters.</summary>
    public static string? CheckDescription(string? description)
    {
        if (string.IsNullOrEmpty(description))
        {
            return null;
        }

        if (description.Length > MaxDescriptionBytes || Encoding.UTF8.GetByteCount(description) > MaxDescriptionBytes)
        {
            return $"description: is longer than {MaxDescriptionBytes} bytes";
        }

        foreach (var c in description)
        {
            if (char.IsControl(c) && c is not ('\n' or '\t' or '\r'))
            {
                return "description: contains a control character";
            }
        }

        return null;
    }

    /// <summary>
    /// Returns <paramref name="context"/> itself when every value fits <see cref="MaxContextLength"/>, otherwise a copy in
    /// which each longer value is cut and ends with a visible marker naming its original length, e.g.
    /// <c>CN=...…[truncated from 1712 characters]</c> (exactly <see cref="MaxContextLength"/> characters). A sensor's
    /// long context (a certificate subject in a Zeek notice's <c>sub</c>) thus never costs the detection itself.
    /// </summary>
    public static MapField<string, string> TruncateContextValues(MapField<string, string> context)
    {
        MapField<string, string>? copy = null;
        foreach (var (key, value) in context)
        {
            if (value.Length > MaxContextLength)
            {
                copy ??= context.Clone();
                copy[key] = TruncateContextValue(value);
            }
        }

        return copy ?? context;
    }

    /// <summary>Cuts a context value to <see cref="MaxContextLength"/> characters ending with the truncation marker.</summary>
    public static string TruncateContextValue(string value)
    {
        if (value.Length <= MaxContextLength)
        {
            return value;
        }

        var marker = $"…[truncated from {value.Length} characters]";
        var keep = MaxContextLength - marker.Length;
        if (char.IsHighSurrogate(value[keep - 1]))
        {
            keep--; // never split a surrogate pair
        }

        return string.Concat(value.AsSpan(0, keep), marker);
    }

    /// <summary>Checks context entry count, key and value lengths.</summary>
    public static string? CheckContext(MapField<string, string> context, string field)
    {
        if (context.Count > MaxContextEntries)
        {
            return $"{field}: has {context.Count} entries, at most {MaxContextEntries} allowed";
        }

        foreach (var (key, value) in context)
        {
            if (key.Length == 0)
            {
                return $"{field}: has an empty key";
            }

            if (key.Length > MaxContextLength)
            {
                return $"{field}: key '{IndicatorNormalizer.Quote(key)}' is longer than {MaxContextLength} characters";
            }

            foreach (var c in key)
            {
                if (char.IsControl(c) || char.IsWhiteSpace(c))
                {
                    return $"{field}: key '{IndicatorNormalizer.Quote(key)}' contains white space or a control character";
                }
            }

            if (value.Length > MaxContextLength)
            {
                return $"{field}[{IndicatorNormalizer.Quote(key)}]: value is longer than {MaxContextLength} characters";
            }
        }

        return null;
    }

    /// <summary>Checks a sensor or node name: bounded length, no control characters.</summary>
    public static string? CheckName(string name, string field, int maxLength)
    {
        if (name.Length > maxLength)
        {
            return $"{field}: is longer than {maxLength} characters";
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return $"{field}: contains a control character";
            }
        }

        return null;
    }

    /// <summary>
    /// Converts a protobuf timestamp, rejecting malformed ones (nanos out of range, outside 0001-9999)
    /// and absurd ones (before 1990, or more than <paramref name="latest"/>).
    /// </summary>
    public static string? CheckTimestamp(Timestamp timestamp, string field, DateTimeOffset latest, out DateTimeOffset value)
    {
        value = default;
        // Timestamp's own range: 0001-01-01 to 9999-12-31, nanos 0..999,999,999.
        if (timestamp.Nanos is < 0 or > 999_999_999 || timestamp.Seconds < -62_135_596_800 || timestamp.Seconds > 253_402_300_799)
        {
            return $"{field}: is not a valid timestamp";
        }

        value = timestamp.ToDateTimeOffset();
        if (value < Earliest)
        {
            return $"{field}: {value:O} is before {Earliest:yyyy-MM-dd}";
        }

        if (value > latest)
        {
            return $"{field}: {value:O} is in the future (after {latest:O})";
        }

        return null;
    }

    /// <summary>True when <paramref name="tlp"/> is one of the five TLP 2.0 levels.</summary>
    public static bool IsKnownTlp(Tlp tlp) => tlp is >= Tlp.Clear and <= Tlp.Red;
}
