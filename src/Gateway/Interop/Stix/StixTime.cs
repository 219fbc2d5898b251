using System.Globalization;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>STIX/TAXII timestamps: RFC 3339, UTC, "Z", millisecond precision (STIX 2.1 section 3.2 for created/modified).</summary>
internal static class StixTime
{
    /// <summary>Formats as "2026-12-06T20:17:37.123Z".</summary>
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Truncates to whole milliseconds (what <see cref="Format"/> keeps).</summary>
    public static DateTimeOffset Truncate(DateTimeOffset time) =>
        new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    /// <summary>Parses an RFC 3339 timestamp with a "Z" or numeric offset; false for anything else.</summary>
    public static bool TryParse(string? text, out DateTimeOffset time)
    {
        time = default;
        if (string.IsNullOrEmpty(text) || text.Length > 64 || text.Length < 20 || text[10] is not ('T' or 't'))
        {
            return false;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out time);
    }
}
