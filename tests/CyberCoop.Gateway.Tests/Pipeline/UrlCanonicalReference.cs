using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CyberCoop.Gateway.Tests.Pipeline;

/// <summary>
/// The canonical URL of docs/protocol.md §7.1, written from that text alone, step by step in its order and with its step
/// numbers, without System.Uri: what another nation's implementation would write. <c>UrlCanonicalFormTests</c> holds the
/// gateway's normalizer to it, so the text is complete. It uses only what the text names from outside: RFC 5952 text for
/// IPv6 (<see cref="IPAddress"/>) and, for host names with non-ASCII characters, the conversion of §7 "Domain names",
/// which is .NET's invariant-mode <see cref="IdnMapping"/> (the gateway's own): that one step is shared, not checked
/// independently here.
/// </summary>
internal static class UrlCanonicalReference
{
    private const string Unreserved = "-._~";
    private const string KeptAsIs = "!$&'()*+,;=:@/?[]";
    private const string Escaped = "\"<>\\^`{|}";

    /// <summary>The canonical form, or null when §7.1 refuses the value.</summary>
    public static string? Canonicalize(string raw)
    {
        // 1. Length, trimming, forbidden characters.
        if (Encoding.UTF8.GetByteCount(raw) > 2048)
        {
            return null;
        }

        var value = raw.Trim();
        if (value.Length == 0 || value.Any(c => c == ' ' || char.IsControl(c)))
        {
            return null;
        }

        // 2. Scheme.
        var separator = value.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return null;
        }

        var scheme = value[..separator].ToLowerInvariant();
        if (scheme is not ("http" or "https" or "ftp"))
        {
            return null;
        }

        // 3. Authority: up to the first '/', '?' or '#'; a '\' there refuses the value.
        var rest = value[(separator + 3)..];
        var end = rest.IndexOfAny(['/', '?', '#', '\\']);
        var authority = end < 0 ? rest : rest[..end];
        var tail = end < 0 ? "" : rest[end..];
        if (tail.StartsWith('\\'))
        {
            return null;
        }

        // 4. User info.
        string? userInfo = null;
        var at = authority.IndexOf('@');
        if (at >= 0)
        {
            if (authority.IndexOf('@', at + 1) >= 0)
            {
                return null;
            }

            var raw4 = authority[..at];
            authority = authority[(at + 1)..];
            if (raw4.Contains('\\'))
            {
                return null;
            }

            userInfo = raw4.Length == 0 ? null : EscapeComponent(raw4, Component.UserInfo);
        }

        // 5. Host and port.
        string hostText;
        string portText;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0)
            {
                return null;
            }

            hostText = authority[..(close + 1)];
            var after = authority[(close + 1)..];
            if (after.Length > 0 && after[0] != ':')
            {
                return null;
            }

            portText = after.Length > 0 ? after[1..] : "";
            if (after.Length == 0)
            {
                portText = "";
            }
        }
        else
        {
            var colon = authority.IndexOf(':');
            hostText = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? "" : authority[(colon + 1)..];
        }

        var host = CanonicalHost(hostText);
        if (host is null)
        {
            return null;
        }

        var port = "";
        if (portText.Length > 0)
        {
            if (!portText.All(char.IsAsciiDigit))
            {
                return null;
            }

            var digits = portText.TrimStart('0');
            if (digits.Length > 5 || (digits.Length > 0 && int.Parse(digits, CultureInfo.InvariantCulture) > 65535))
            {
                return null;
            }

            var number = digits.Length == 0 ? 0 : int.Parse(digits, CultureInfo.InvariantCulture);
            var isDefault = (scheme, number) is ("http", 80) or ("https", 443) or ("ftp", 21);
            port = isDefault ? "" : ":" + number.ToString(CultureInfo.InvariantCulture);
        }

        // 6. Path, query, fragment.
        var hash = tail.IndexOf('#');
        if (hash >= 0)
        {
            tail = tail[..hash];
        }

        var question = scheme == "ftp" ? -1 : tail.IndexOf('?');
        var path = question < 0 ? tail : tail[..question];
        var queryPart = question < 0 ? null : tail[(question + 1)..];

        if (path.Length > 0 && path[0] != '/')
        {
            path = "/" + path;
        }

        path = RemoveDotSegments(EscapeComponent(path.Replace('\\', '/'), scheme == "ftp" ? Component.FtpPath : Component.Path));
        if (path.Length == 0)
        {
            path = "/";
        }

        var builder = new StringBuilder();
        builder.Append(scheme).Append("://");
        if (userInfo is not null)
        {
            builder.Append(userInfo).Append('@');
        }

        builder.Append(host).Append(port).Append(path);
        if (queryPart is not null)
        {
            builder.Append('?').Append(EscapeComponent(queryPart, Component.Query));
        }

        // 7. Length of the result.
        var canonical = builder.ToString();
        return Encoding.UTF8.GetByteCount(canonical) > 2048 ? null : canonical;
    }

    /// <summary>§7.1 step 5: the host.</summary>
    private static string? CanonicalHost(string host)
    {
        if (host.Length == 0)
        {
            return null;
        }

        if (host.StartsWith('['))
        {
            var inner = host[1..^1];
            if (inner.Contains('%') || !inner.Contains(':') || !IPAddress.TryParse(inner, out var v6)
                || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return null;
            }

            return "[" + v6 + "]";
        }

        if (host.Contains('%'))
        {
            return null;
        }

        var lastLabel = host.Split('.')[^1];
        if (EndsInNumber(lastLabel) || (host.EndsWith('.') && EndsInNumber(host.TrimEnd('.').Split('.')[^1])))
        {
            return host.EndsWith('.') ? null : NumericIPv4(host);
        }

        string ascii;
        try
        {
            ascii = new IdnMapping { AllowUnassigned = false, UseStd3AsciiRules = false }.GetAscii(host.ToLowerInvariant()).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }

        if (ascii.EndsWith('.'))
        {
            ascii = ascii[..^1];
        }

        var labels = ascii.Split('.');
        if (ascii.Length > 253 || labels.Any(l => !LabelOk(l)))
        {
            return null;
        }

        return ascii;
    }

    private static bool EndsInNumber(string label) =>
        (label.Length > 0 && label.All(char.IsAsciiDigit))
        || (label.Length >= 2 && label[0] == '0' && label[1] is 'x' or 'X' && label[2..].All(char.IsAsciiHexDigit));

    private static string? NumericIPv4(string host)
    {
        var parts = host.Split('.');
        if (parts.Length > 4)
        {
            return null;
        }

        var values = new ulong[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var p = parts[i];
            ulong v;
            if (p.Length > 2 && p[0] == '0' && p[1] is 'x' or 'X')
            {
                if (!p[2..].All(char.IsAsciiHexDigit) || !ulong.TryParse(p[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v))
                {
                    return null;
                }
            }
            else if (p.Length > 1 && p[0] == '0')
            {
                if (!p.All(c => c is >= '0' and <= '7'))
                {
                    return null;
                }

                v = 0;
                foreach (var c in p)
                {
                    v = v * 8 + (ulong)(c - '0');
                    if (v > uint.MaxValue)
                    {
                        return null;
                    }
                }
            }
            else if (p.Length > 0 && p.All(char.IsAsciiDigit))
            {
                if (!ulong.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out v))
                {
                    return null;
                }
            }
            else
            {
                return null;
            }

            values[i] = v;
        }

        ulong address = 0;
        for (var i = 0; i < values.Length - 1; i++)
        {
            if (values[i] > 255)
            {
                return null;
            }

            address |= values[i] << (8 * (3 - i));
        }

        var last = values[^1];
        var lastBits = 8 * (5 - values.Length);
        if (lastBits < 64 && last >= 1UL << lastBits)
        {
            return null;
        }

        address |= last;
        return $"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}";
    }

    private static bool LabelOk(string label) =>
        label.Length is >= 1 and <= 63 && label[0] != '-' && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');

    /// <summary>§7.1 step 6: the character rules of user info, path and query.</summary>
    private static string EscapeComponent(string text, Component component)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                if (i + 2 < text.Length && char.IsAsciiHexDigit(text[i + 1]) && char.IsAsciiHexDigit(text[i + 2]))
                {
                    var b = (char)Convert.ToByte(text.Substring(i + 1, 2), 16);
                    if (char.IsAsciiLetterOrDigit(b) || Unreserved.Contains(b))
                    {
                        builder.Append(b);
                    }
                    else
                    {
                        builder.Append(text, i, 3);
                    }

                    i += 2;
                }
                else
                {
                    builder.Append("%25");
                }
            }
            else if (char.IsAsciiLetterOrDigit(c) || Unreserved.Contains(c) || (KeptAsIs.Contains(c) && !(c == '?' && component == Component.FtpPath)))
            {
                builder.Append(c);
            }
            else if (c < 0x80)
            {
                if (!(Escaped.Contains(c) || c == '?') || (c == '\\' && component != Component.Query))
                {
                    throw new InvalidOperationException($"unexpected character '{c}'");
                }

                builder.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                var length = char.IsSurrogatePair(text, i) ? 2 : 1;
                foreach (var b in Encoding.UTF8.GetBytes(text.Substring(i, length)))
                {
                    builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                }

                i += length - 1;
            }
        }

        return builder.ToString();
    }

    private enum Component
    {
        UserInfo,
        Path,
        FtpPath,
        Query,
    }

    /// <summary>RFC 3986 §5.2.4, on the path after the character rules.</summary>
    private static string RemoveDotSegments(string path)
    {
        var input = path;
        var output = new StringBuilder();
        while (input.Length > 0)
        {
            if (input.StartsWith("../", StringComparison.Ordinal))
            {
                input = input[3..];
            }
            else if (input.StartsWith("./", StringComparison.Ordinal))
            {
                input = input[2..];
            }
            else if (input.StartsWith("/./", StringComparison.Ordinal))
            {
                input = input[2..];
            }
            else if (input == "/.")
            {
                input = "/";
            }
            else if (input.StartsWith("/../", StringComparison.Ordinal) || input == "/..")
            {
                input = input == "/.." ? "/" : input[3..];
                var last = output.ToString().LastIndexOf('/');
                output.Length = last < 0 ? 0 : last;
            }
            else if (input is "." or "..")
            {
                input = "";
            }
            else
            {
                var start = input[0] == '/' ? 1 : 0;
                var next = input.IndexOf('/', start);
                var segment = next < 0 ? input : input[..next];
                output.Append(segment);
                input = next < 0 ? "" : input[next..];
            }
        }

        return output.ToString();
    }
}
