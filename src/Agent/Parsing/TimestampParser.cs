using System.Buffers.Text;
using System.Globalization;

namespace CyberCoop.Agent.Parsing;

/// <summary>
/// Parses the timestamps sensors write: ISO 8601 with any number of fraction digits and a
/// "Z", "+01:00" or "+0100" offset (Suricata writes the last), or Unix seconds with a fraction (Zeek TSV).
/// </summary>
internal static class TimestampParser
{
    /// <summary>Parses UTF-8 text.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length >= 19 && text[4] == (byte)'-' && text[7] == (byte)'-' && (text[10] == (byte)'T' || text[10] == (byte)' '))
        {
            return TryParseIso(text, out value);
        }

        if (Utf8Parser.TryParse(text, out double seconds, out var consumed) && consumed == text.Length
            && double.IsFinite(seconds) && seconds >= 0 && seconds < 253402300799)
        {
            value = DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
            return true;
        }

        return false;
    }

    /// <summary>Parses UTF-16 text.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[64];
        var n = System.Text.Encoding.UTF8.GetBytes(text.AsSpan(), buffer);
        return TryParse(buffer[..n], out value);
    }

    private static bool TryParseIso(ReadOnlySpan<byte> t, out DateTimeOffset value)
    {
        value = default;
        if (!Digits(t, 0, 4, out var year) || !Digits(t, 5, 2, out var month) || !Digits(t, 8, 2, out var day)
            || t[13] != (byte)':' || t[16] != (byte)':'
            || !Digits(t, 11, 2, out var hour) || !Digits(t, 14, 2, out var minute) || !Digits(t, 17, 2, out var second))
        {
            return false;
        }

        var i = 19;
        long fractionTicks = 0;
        if (i < t.Length && (t[i] == (byte)'.' || t[i] == (byte)','))
        {
            i++;
            var scale = TimeSpan.TicksPerSecond / 10;
            var start = i;
            while (i < t.Length && (uint)(t[i] - '0') <= 9)
            {
                fractionTicks += (t[i] - '0') * scale;
                scale /= 10;
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        var offset = TimeSpan.Zero;
        if (i < t.Length)
        {
            if (t[i] is (byte)'Z' or (byte)'z' && i + 1 == t.Length)
            {
                // UTC
            }
            else if (t[i] is (byte)'+' or (byte)'-')
            {
                var sign = t[i] == (byte)'-' ? -1 : 1;
                var rest = t[(i + 1)..];
                int oh, om;
                if (rest.Length == 5 && rest[2] == (byte)':' && Digits(rest, 0, 2, out oh) && Digits(rest, 3, 2, out om))
                {
                }
                else if (rest.Length == 4 && Digits(rest, 0, 2, out oh) && Digits(rest, 2, 2, out om))
                {
                }
                else if (rest.Length == 2 && Digits(rest, 0, 2, out oh))
                {
                    om = 0;
                }
                else
                {
                    return false;
                }

                if (oh > 14 || om > 59)
                {
                    return false;
                }

                offset = new TimeSpan(sign * oh, sign * om, 0);
            }
            else
            {
                return false;
            }
        }

        if (month is < 1 or > 12 || day < 1 || year < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }

        second = Math.Min(second, 59);
        try
        {
            value = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fractionTicks);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static bool Digits(ReadOnlySpan<byte> t, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var d = (uint)(t[i] - '0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + (int)d;
        }

        return true;
    }

    /// <summary>Formats as ISO 8601 UTC for human output.</summary>
    public static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
