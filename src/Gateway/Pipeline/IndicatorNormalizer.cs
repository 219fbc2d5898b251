using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Turns an observable as a sensor reported it into its canonical text form, so that the
/// same observable reported by two nations gets the same deterministic id and merges.
/// </summary>
/// <remarks>
/// Canonical forms (docs/protocol.md, "Normalization"):
/// <list type="bullet">
/// <item>ipv4: dotted quad, decimal, no leading zeros. "010.0.0.1" is rejected rather than guessed
///   (some stacks read a leading zero as octal).</item>
/// <item>ipv6: RFC 5952 text (lower case, longest zero run compressed, IPv4-mapped in mixed notation),
///   as produced by <see cref="IPAddress.ToString()"/>. Zone ids ("%eth0") are rejected: they are local.</item>
/// <item>cidr: network/prefix; the host bits MUST already be zero. "192.0.2.5/24" is rejected (naming the
///   network it would have been) instead of silently cleared, because a sensor that sends it may have
///   meant the host, and widening a host to a /24 changes what peers would block.</item>
/// <item>domain: IDNA A-labels (punycode), lower case, trailing dot dropped, at least two labels,
///   labels 1-63 of [a-z0-9-_] not starting or ending with '-', total at most 253 characters; an IP
///   address is not a domain. Underscores are allowed because service labels and malicious hosts use them.</item>
/// <item>url: the steps of docs/protocol.md §7.1 (http/https/ftp; scheme lower case; host and port read here: IPv6
///   as RFC 5952, a host ending in a number as an IPv4 address or refused, names by IDNA and the label rules; default
///   port removed; user info, path and query escaped by <see cref="Uri"/> behind a fixed host, dot segments
///   resolved, fragment removed). UrlCanonicalFormTests holds this to an implementation written from §7.1.</item>
/// <item>email: local part kept as sent (it is case-sensitive per RFC 5321), domain part normalized as a domain.</item>
/// <item>md5/ja3 (32), sha1 (40), sha256 (64), sha512 (128): hex of exactly that length, lower case.</item>
/// <item>ja4: "t13d1516h2_8daaf6152771_b186095e22b6": a 10-character prefix, then two 12-hex parts, lower case.</item>
/// <item>asn: decimal 1-4294967295 without prefix; "AS64496", "as64496" and asdot "1.10" are accepted.
///   AS 0 is reserved (RFC 7607) and rejected.</item>
/// <item>cve: "CVE-YYYY-NNNN" upper case, year 1999 or later, sequence of 4 to 19 digits.</item>
/// </list>
/// Leading and trailing white space is trimmed. Values longer than <see cref="MaxValueBytes"/> UTF-8 bytes
/// (before normalization) are rejected. Errors quote at most 64 characters of the offending value, with
/// control characters escaped.
/// </remarks>
internal static class IndicatorNormalizer
{
    /// <summary>Maximum length of an observable in UTF-8 bytes (indicator.proto).</summary>
    public const int MaxValueBytes = 2048;

    private const int MaxDomainLength = 253;
    private const int MaxLabelLength = 63;
    private const int MaxQuotedChars = 64;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = false };

    /// <summary>Normalizes <paramref name="raw"/> as an observable of <paramref name="type"/>.</summary>
    public static NormalizeResult Normalize(IndicatorType type, string? raw)
    {
        if (raw is null)
        {
            return NormalizeResult.Failure("value: is missing");
        }

        if (raw.Length > MaxValueBytes || Encoding.UTF8.GetByteCount(raw) > MaxValueBytes)
        {
            return NormalizeResult.Failure($"value: is longer than {MaxValueBytes} bytes");
        }

        var value = raw.AsSpan().Trim();
        if (value.IsEmpty)
        {
            return NormalizeResult.Failure("value: is empty");
        }

        return type switch
        {
            IndicatorType.Ipv4 => NormalizeIPv4(raw, value),
            IndicatorType.Ipv6 => NormalizeIPv6(value),
            IndicatorType.Cidr => NormalizeCidr(value),
            IndicatorType.Domain => NormalizeDomain(value, "value"),
            IndicatorType.Url => NormalizeUrl(value),
            IndicatorType.Email => NormalizeEmail(value),
            IndicatorType.Md5 => NormalizeHex(raw, value, 32, "md5"),
            IndicatorType.Sha1 => NormalizeHex(raw, value, 40, "sha1"),
            IndicatorType.Sha256 => NormalizeHex(raw, value, 64, "sha256"),
            IndicatorType.Sha512 => NormalizeHex(raw, value, 128, "sha512"),
            IndicatorType.Ja3 => NormalizeHex(raw, value, 32, "ja3"),
            IndicatorType.Ja4 => NormalizeJa4(value),
            IndicatorType.Asn => NormalizeAsn(value),
            IndicatorType.Cve => NormalizeCve(value),
            IndicatorType.Unspecified => NormalizeResult.Failure("type: is unspecified"),
            _ => NormalizeResult.Failure($"type: unknown indicator type {(int)type}"),
        };
    }

    private static NormalizeResult NormalizeIPv4(string raw, ReadOnlySpan<char> value) =>
        TryParseStrictIPv4(value, out _)
            ? NormalizeResult.Success(value.Length == raw.Length ? raw : value.ToString())
            : NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid IPv4 address (dotted quad, no leading zeros)");

    /// <summary>Strict dotted quad: exactly four decimal parts 0-255, no leading zeros, nothing else.</summary>
    private static bool TryParseStrictIPv4(ReadOnlySpan<char> value, out uint address)
    {
        address = 0;
        var parts = 0;
        var i = 0;
        while (true)
        {
            var start = i;
            var octet = 0;
            while (i < value.Length && char.IsAsciiDigit(value[i]))
            {
                octet = (octet * 10) + (value[i] - '0');
                i++;
                if (i - start > 3)
                {
                    return false;
                }
            }

            var digits = i - start;
            if (digits == 0 || octet > 255 || (digits > 1 && value[start] == '0'))
            {
                return false;
            }

            address = (address << 8) | (uint)octet;
            parts++;
            if (i == value.Length)
            {
                return parts == 4;
            }

            if (value[i] != '.' || parts == 4)
            {
                return false;
            }

            i++;
        }
    }

    private static NormalizeResult NormalizeIPv6(ReadOnlySpan<char> value)
    {
        if (!TryParseIPv6(value, out var address))
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid IPv6 address");
        }

        return NormalizeResult.Success(address.ToString());
    }

    private static bool TryParseIPv6(ReadOnlySpan<char> value, out IPAddress address)
    {
        address = IPAddress.None;
        // A zone id is meaningful only on the host that wrote it; brackets belong to URLs.
        if (value.IndexOfAny('%', '[', ']') >= 0 || value.IndexOf(':') < 0)
        {
            return false;
        }

        if (!IPAddress.TryParse(value, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        address = parsed;
        return true;
    }

    private static NormalizeResult NormalizeCidr(ReadOnlySpan<char> value)
    {
        var slash = value.IndexOf('/');
        if (slash < 0)
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a CIDR network (missing '/prefix')");
        }

        var addressText = value[..slash];
        var prefixText = value[(slash + 1)..];
        if (prefixText.IsEmpty || prefixText.Length > 3 || (prefixText.Length > 1 && prefixText[0] == '0') ||
            !int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' has an invalid prefix length");
        }

        byte[] bytes;
        string family;
        if (TryParseStrictIPv4(addressText, out _))
        {
            bytes = IPAddress.Parse(addressText).GetAddressBytes();
            family = "IPv4";
        }
        else if (TryParseIPv6(addressText, out var v6))
        {
            bytes = v6.GetAddressBytes();
            family = "IPv6";
        }
        else
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a CIDR network (address part is not a valid IPv4 or IPv6 address)");
        }

        var maxPrefix = bytes.Length * 8;
        if (prefix > maxPrefix)
        {
            return NormalizeResult.Failure($"value: prefix length /{prefix} is longer than {maxPrefix} for {family}");
        }

        var network = (byte[])bytes.Clone();
        for (var bit = prefix; bit < maxPrefix; bit++)
        {
            network[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        var canonical = new IPAddress(network) + "/" + prefix.ToString(CultureInfo.InvariantCulture);
        if (!network.AsSpan().SequenceEqual(bytes))
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' has host bits set (the network is {canonical})");
        }

        return NormalizeResult.Success(canonical);
    }

    private static NormalizeResult NormalizeDomain(ReadOnlySpan<char> value, string field)
    {
        if (value.Length > 1 && value[^1] == '.')
        {
            value = value[..^1];
        }

        if (value.Length > MaxDomainLength)
        {
            return NormalizeResult.Failure($"{field}: domain name is longer than {MaxDomainLength} characters");
        }

        string ascii;
        try
        {
            // A name that is already lower-case ASCII letters, digits, '-' and '_' in well-formed labels is its own
            // canonical form; only other names need the conversion. It is lower-cased first: the gateway runs in .NET's
            // invariant globalization mode, whose IdnMapping Punycode-encodes letters as written (no UTS #46 case mapping),
            // so "BÜCHER.example" would not become the A-label of "bücher.example" (docs/protocol.md §7, "Domain names").
            ascii = IsPlainAsciiName(value) ? value.ToString() : Idn.GetAscii(value.ToString().ToLowerInvariant());
        }
        catch (ArgumentException)
        {
            return NormalizeResult.Failure($"{field}: '{Quote(value)}' is not a valid domain name (IDNA conversion failed)");
        }

        ascii = ascii.ToLowerInvariant();
        if (ascii.Length > MaxDomainLength)
        {
            return NormalizeResult.Failure($"{field}: domain name is longer than {MaxDomainLength} characters");
        }

        var labels = 0;
        var rest = ascii.AsSpan();
        var lastLabelNumeric = false;
        while (true)
        {
            var dot = rest.IndexOf('.');
            var label = dot < 0 ? rest : rest[..dot];
            var problem = CheckLabel(label);
            if (problem is not null)
            {
                return NormalizeResult.Failure($"{field}: '{Quote(value)}' is not a valid domain name ({problem})");
            }

            labels++;
            lastLabelNumeric = IsAllDigits(label);
            if (dot < 0)
            {
                break;
            }

            rest = rest[(dot + 1)..];
        }

        if (labels < 2)
        {
            return NormalizeResult.Failure($"{field}: '{Quote(value)}' is not a fully qualified domain name (needs at least two labels)");
        }

        if (lastLabelNumeric)
        {
            return NormalizeResult.Failure($"{field}: '{Quote(value)}' is not a domain name (the last label is numeric; use type ipv4 for addresses)");
        }

        return NormalizeResult.Success(ascii);
    }

    /// <summary>
    /// True for names that <see cref="IdnMapping.GetAscii(string)"/> returns unchanged without error: every label 1-63
    /// characters of lower-case ASCII letters, digits, '-' and '_', not starting or ending with '-', and not an
    /// A-label ("xn--", which full IDNA would decode and check; invariant-mode GetAscii keeps it as it is, but such names
    /// take the conversion path all the same). IndicatorNormalizerTests holds this to GetAscii.
    /// </summary>
    internal static bool IsPlainAsciiName(ReadOnlySpan<char> name)
    {
        var start = 0;
        for (var i = 0; i <= name.Length; i++)
        {
            if (i == name.Length || name[i] == '.')
            {
                var label = name[start..i];
                if (label.IsEmpty || label.Length > MaxLabelLength || label[0] == '-' || label[^1] == '-' || label.StartsWith("xn--", StringComparison.Ordinal))
                {
                    return false;
                }

                start = i + 1;
            }
            else if (!(char.IsAsciiLetterLower(name[i]) || char.IsAsciiDigit(name[i]) || name[i] is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static string? CheckLabel(ReadOnlySpan<char> label)
    {
        if (label.IsEmpty)
        {
            return "empty label";
        }

        if (label.Length > MaxLabelLength)
        {
            return $"label longer than {MaxLabelLength} characters";
        }

        if (label[0] == '-' || label[^1] == '-')
        {
            return "label starts or ends with '-'";
        }

        foreach (var c in label)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' || c == '_'))
            {
                return $"character '{Escape(c)}' not allowed";
            }
        }

        return null;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return !s.IsEmpty;
    }

    private static NormalizeResult NormalizeUrl(ReadOnlySpan<char> value)
    {
        // Most URLs arrive already canonical (sensors log what they saw; peers send what their origin normalized):
        // those are recognised by a scan and kept as they are, without System.Uri's parse and rebuild.
        return IsPlainCanonicalUrl(value) && value.Length <= MaxValueBytes
            ? NormalizeResult.Success(value.ToString())
            : NormalizeUrlWithUri(value);
    }

    /// <summary>
    /// True for a URL that <see cref="NormalizeUrlWithUri"/> would return unchanged, recognised without parsing it as a
    /// <see cref="Uri"/>: lower-case http/https/ftp scheme; a lower-case ASCII host name (letters, digits, '-', '.',
    /// '_'; no port, user info, punycode or trailing dot; its last label starting with a letter, so it can never be read
    /// as an IPv4 address) that the domain rules accept as it is; then a path starting with '/' without empty, "." or
    /// ".." segments, and an optional query (http and https only), both of characters that <see cref="Uri"/> leaves alone
    /// (unreserved and sub-delimiters, ':', '@', and '/' or '?' in the query; no '%', no fragment). Anything else takes
    /// the full path; <c>UrlFastPathTests</c> checks the two agree on 200,000 generated URLs.
    /// </summary>
    internal static bool IsPlainCanonicalUrl(ReadOnlySpan<char> value)
    {
        var schemeLength = value.StartsWith("http://", StringComparison.Ordinal) ? 7
            : value.StartsWith("https://", StringComparison.Ordinal) ? 8
            : value.StartsWith("ftp://", StringComparison.Ordinal) ? 6
            : 0;
        if (schemeLength == 0)
        {
            return false;
        }

        var rest = value[schemeLength..];
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        var host = rest[..slash];
        var lastDot = host.LastIndexOf('.');
        if (!IsPlainAsciiName(host) || !char.IsAsciiLetterLower(host[lastDot + 1]))
        {
            return false;
        }

        var hostText = host.ToString();
        var domain = NormalizeDomainOrSingleLabel(hostText);
        if (!domain.Ok || domain.Value != hostText)
        {
            return false;
        }

        var inQuery = false;
        var tail = rest[slash..];
        for (var i = 0; i < tail.Length; i++)
        {
            var c = tail[i];
            if (c == '/' && !inQuery)
            {
                // A segment starts: it may be neither empty nor a dot segment, which Uri would rewrite.
                var segment = tail[(i + 1)..];
                var end = segment.IndexOfAny('/', '?');
                var endsPath = end < 0 || segment[end] == '?';
                segment = end < 0 ? segment : segment[..end];
                if ((segment.IsEmpty && !endsPath) || segment is "." or "..")
                {
                    return false;
                }

                continue;
            }

            if (c == '?' && !inQuery && schemeLength != 6)
            {
                // ftp has no query: Uri escapes its '?', so such a URL is left to it.
                inQuery = true;
                continue;
            }

            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ','
                || c is ';' or '=' or ':' or '@' || (inQuery && c is '/' or '?')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The full URL normalization (docs/protocol.md §7.1; see the class remarks), repeated until the value no longer
    /// changes. A canonical value must normalize to itself, or a sighting normalized once (at the agent's gateway) and
    /// again (at a peer) would get two ids. One pass of Uri did not always reach its own canonical form (found by
    /// fuzzing: in "http://a/%%42" it escaped the stray '%' and decoded "%42" only when it read its result again); stray
    /// '%' are now escaped before Uri reads the value, and the repetition stays as the check that the result is stable.
    /// </summary>
    internal static NormalizeResult NormalizeUrlWithUri(ReadOnlySpan<char> value)
    {
        const int MaxPasses = 4;
        var result = NormalizeUrlWithUriOnce(value);
        for (var pass = 1; result.Ok; pass++)
        {
            var again = NormalizeUrlWithUriOnce(result.Value);
            if (!again.Ok || again.Value == result.Value)
            {
                return again.Ok ? result : again;
            }

            if (pass == MaxPasses)
            {
                return NormalizeResult.Failure($"value: '{Quote(value)}' has no stable canonical form (it still changed after {MaxPasses} passes)");
            }

            result = again;
        }

        return result;
    }

    private static NormalizeResult NormalizeUrlWithUriOnce(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) || c == ' ')
            {
                return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid URL (contains white space or control characters; percent-encode them)");
            }
        }

        // Require "scheme://" up front: on Unix, Uri reads "/path" as an implicit file:// URI.
        var separator = value.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid absolute URL (expected scheme://host/...)");
        }

        var scheme = value[..separator].ToString().ToLowerInvariant();
        if (scheme is not ("http" or "https" or "ftp"))
        {
            return NormalizeResult.Failure($"value: URL scheme '{Quote(scheme)}' is not allowed (http, https or ftp)");
        }

        // The authority (docs/protocol.md §7.1 steps 3-5) is read here, not by Uri: Uri's rules for hosts it calls
        // "basic" (with '_', with '_' and non-ASCII letters, a last label starting with '_') cannot be written down for
        // another implementation, and it reads "http://[::1]x/" as a host and a path.
        var afterScheme = value[(separator + 3)..];
        var end = afterScheme.IndexOfAny("/?#\\");
        if (end >= 0 && afterScheme[end] == '\\')
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid absolute URL (a '\\' ends the host)");
        }

        var authority = end < 0 ? afterScheme : afterScheme[..end];
        var at = authority.IndexOf('@');
        var userInfo = at < 0 ? ReadOnlySpan<char>.Empty : authority[..at];
        var hostPort = authority[(at + 1)..];
        if (hostPort.Contains('@') || userInfo.Contains('\\'))
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid absolute URL ({(hostPort.Contains('@') ? "more than one '@' before the path" : "a '\\' in the user info")})");
        }

        var host = NormalizeUrlHost(hostPort, scheme, out var port);
        if (!host.Ok)
        {
            return host;
        }

        // Uri reads the rest (user info, path, query) behind a fixed host: its escaping there is what §7.1 step 6 states.
        var rest = new StringBuilder(value.Length + 16).Append(scheme).Append("://");
        if (!userInfo.IsEmpty)
        {
            rest.Append(userInfo).Append('@');
        }

        rest.Append("host.invalid");
        if (end >= 0)
        {
            rest.Append(afterScheme[end..]);
        }

        if (!Uri.TryCreate(EscapeStrayPercents(rest.ToString()), UriKind.Absolute, out var uri))
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid absolute URL");
        }

        var builder = new StringBuilder(value.Length);
        builder.Append(scheme).Append("://");
        if (!userInfo.IsEmpty)
        {
            builder.Append(uri.GetComponents(UriComponents.UserInfo, UriFormat.UriEscaped)).Append('@');
        }

        builder.Append(host.Value).Append(port).Append(uri.GetComponents(UriComponents.PathAndQuery, UriFormat.UriEscaped));
        var canonical = builder.ToString();
        return Encoding.UTF8.GetByteCount(canonical) > MaxValueBytes
            ? NormalizeResult.Failure($"value: canonical URL is longer than {MaxValueBytes} bytes")
            : NormalizeResult.Success(canonical);
    }

    /// <summary>
    /// The host and port of a URL (docs/protocol.md §7.1 step 5): an IPv6 literal in brackets as RFC 5952 text; a host
    /// whose last label is a number as an IPv4 address (<see cref="TryParseUrlIPv4"/>) or refused; any other host by the
    /// domain rules, one label allowed. <paramref name="port"/> is ":N" without leading zeros, or empty for none or the
    /// scheme's default.
    /// </summary>
    private static NormalizeResult NormalizeUrlHost(ReadOnlySpan<char> hostPort, string scheme, out string port)
    {
        port = "";
        ReadOnlySpan<char> host;
        ReadOnlySpan<char> portText;
        if (hostPort.StartsWith('['))
        {
            var close = hostPort.IndexOf(']');
            if (close < 0 || (close + 1 < hostPort.Length && hostPort[close + 1] != ':'))
            {
                return NormalizeResult.Failure($"value: URL host '{Quote(hostPort)}' is not a valid IPv6 literal (only ':' and a port may follow its ']')");
            }

            host = hostPort[..(close + 1)];
            portText = close + 1 < hostPort.Length ? hostPort[(close + 2)..] : ReadOnlySpan<char>.Empty;
        }
        else
        {
            var colon = hostPort.IndexOf(':');
            host = colon < 0 ? hostPort : hostPort[..colon];
            portText = colon < 0 ? ReadOnlySpan<char>.Empty : hostPort[(colon + 1)..];
        }

        if (!portText.IsEmpty)
        {
            var digits = portText.TrimStart('0');
            if (portText.ContainsAnyExceptInRange('0', '9') || digits.Length > 5
                || !int.TryParse(digits.IsEmpty ? "0" : digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > 65535)
            {
                return NormalizeResult.Failure($"value: URL port '{Quote(portText)}' is not a number from 0 to 65535");
            }

            var isDefault = (scheme, number) is ("http", 80) or ("https", 443) or ("ftp", 21);
            port = isDefault ? "" : ":" + number.ToString(CultureInfo.InvariantCulture);
        }

        if (host.IsEmpty)
        {
            return NormalizeResult.Failure("value: URL has no host");
        }

        if (host[0] == '[')
        {
            return TryParseIPv6(host[1..^1], out var v6)
                ? NormalizeResult.Success("[" + v6 + "]")
                : NormalizeResult.Failure($"value: URL host '{Quote(host)}' is not a valid IPv6 address (zone ids are not allowed)");
        }

        if (host.Contains('%'))
        {
            return NormalizeResult.Failure($"value: URL host '{Quote(host)}' is not a valid host name (percent-encoding is not allowed in a host)");
        }

        if (EndsInNumber(host))
        {
            return TryParseUrlIPv4(host, out var address)
                ? NormalizeResult.Success(string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"))
                : NormalizeResult.Failure($"value: URL host '{Quote(host)}' ends in a number but is not a valid IPv4 address");
        }

        var domain = NormalizeDomainOrSingleLabel(host.ToString());
        return domain.Ok ? domain : NormalizeResult.Failure($"value: URL host '{Quote(host)}' is not a valid host name ({domain.Error!.Replace("host: ", "", StringComparison.Ordinal)})");
    }

    /// <summary>
    /// A URL host that ends in a number as an IPv4 address (docs/protocol.md §7.1 step 5): one to four parts separated by
    /// '.', no trailing dot; each part decimal, octal when it starts with '0' and has more digits (0-7 only), or hex after
    /// "0x" or "0X" (at least one digit); every part but the last at most 255, the last filling the remaining bytes
    /// ("127.1" is 127.0.0.1, "2130706433" is 127.0.0.1).
    /// </summary>
    internal static bool TryParseUrlIPv4(ReadOnlySpan<char> host, out uint address)
    {
        address = 0;
        var parts = 0;
        ulong last = 0;
        foreach (var range in host.Split('.'))
        {
            var part = host[range];
            if (++parts > 4 || !TryParseIPv4Number(part, out var number))
            {
                return false;
            }

            if (parts > 1)
            {
                if (last > 255)
                {
                    return false;
                }

                address = (address << 8) | (uint)last;
            }

            last = number;
        }

        // The last part fills the bytes the others left: 4 - (parts - 1) of them.
        var lastBytes = 5 - parts;
        if (lastBytes < 4 && last >= 1UL << (8 * lastBytes))
        {
            return false;
        }

        address = (uint)((ulong)address << (8 * lastBytes) | last);
        return true;

        static bool TryParseIPv4Number(ReadOnlySpan<char> part, out ulong number)
        {
            number = 0;
            var radix = part.Length > 2 && part[0] == '0' && part[1] is 'x' or 'X' ? 16 : part.Length > 1 && part[0] == '0' ? 8 : 10;
            var digits = part[(radix == 16 ? 2 : radix == 8 ? 1 : 0)..];
            if (digits.IsEmpty)
            {
                return false;
            }

            foreach (var c in digits)
            {
                var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiHexDigit(c) ? (c | 0x20) - 'a' + 10 : radix;
                if (digit >= radix)
                {
                    return false;
                }

                number = number * (ulong)radix + (ulong)digit;
                if (number > uint.MaxValue)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Writes every '%' that does not start an escape (two hex digits) as "%25" before Uri reads the value. Uri does the
    /// same, but after such a '%' it stops decoding the escapes of unreserved characters that follow (a second pass
    /// decodes them) and writes a character outside the BMP as two U+FFFD escapes (found by UrlCanonicalFormTests:
    /// "http://a/%x😀" became "%25x%EF%BF%BD%EF%BF%BD", which a second pass cannot undo).
    /// </summary>
    private static string EscapeStrayPercents(string value)
    {
        var builder = (StringBuilder?)null;
        var copied = 0;
        for (var i = value.IndexOf('%', StringComparison.Ordinal); i >= 0; i = i + 1 < value.Length ? value.IndexOf('%', i + 1) : -1)
        {
            if (i + 2 < value.Length && char.IsAsciiHexDigit(value[i + 1]) && char.IsAsciiHexDigit(value[i + 2]))
            {
                continue;
            }

            builder ??= new StringBuilder(value.Length + 8);
            builder.Append(value, copied, i + 1 - copied).Append("25");
            copied = i + 1;
        }

        return builder is null ? value : builder.Append(value, copied, value.Length - copied).ToString();
    }

    /// <summary>
    /// True when a URL host's last label (after one trailing dot is dropped) is a number: decimal digits, or "0x" and hex
    /// digits. Such a host is an IPv4 address or refused (docs/protocol.md §7.1), as in the WHATWG URL standard.
    /// </summary>
    private static bool EndsInNumber(ReadOnlySpan<char> host)
    {
        if (host.Length > 1 && host[^1] == '.')
        {
            host = host[..^1];
        }

        var label = host[(host.LastIndexOf('.') + 1)..];
        if (label.Length >= 2 && label[0] == '0' && label[1] is 'x' or 'X')
        {
            return !label[2..].ContainsAnyExcept("0123456789abcdefABCDEF");
        }

        return !label.IsEmpty && !label.ContainsAnyExceptInRange('0', '9');
    }

    /// <summary>URL hosts may be single-label names (intranet hosts); IDNA and the label rules still apply.</summary>
    private static NormalizeResult NormalizeDomainOrSingleLabel(string host)
    {
        var lower = host.ToLowerInvariant();
        if (lower.Length > 1 && lower[^1] == '.')
        {
            lower = lower[..^1];
        }

        if (lower.EndsWith('.'))
        {
            return NormalizeResult.Failure("host: empty label");
        }

        if (lower.Contains('.', StringComparison.Ordinal))
        {
            return NormalizeDomain(lower, "host");
        }

        string ascii;
        try
        {
            ascii = IsPlainAsciiName(lower) ? lower : Idn.GetAscii(lower).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return NormalizeResult.Failure("host: IDNA conversion failed");
        }

        return CheckLabel(ascii) is null ? NormalizeResult.Success(ascii) : NormalizeResult.Failure("host: invalid");
    }

    private static NormalizeResult NormalizeEmail(ReadOnlySpan<char> value)
    {
        var at = value.LastIndexOf('@');
        if (at <= 0 || at == value.Length - 1)
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not an e-mail address (expected local@domain)");
        }

        var local = value[..at];
        if (local.Length > 64)
        {
            return NormalizeResult.Failure("value: e-mail local part is longer than 64 characters");
        }

        foreach (var c in local)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c is '<' or '>' or '(' or ')' or ',' or ';' or '[' or ']')
            {
                return NormalizeResult.Failure($"value: e-mail local part contains '{Escape(c)}'");
            }
        }

        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return NormalizeResult.Failure($"value: e-mail local part '{Quote(local)}' has a misplaced '.'");
        }

        var domain = NormalizeDomain(value[(at + 1)..], "value");
        if (!domain.Ok)
        {
            return domain;
        }

        var canonical = string.Concat(local, "@", domain.Value);
        return canonical.Length > 254
            ? NormalizeResult.Failure("value: e-mail address is longer than 254 characters")
            : NormalizeResult.Success(canonical);
    }

    private static NormalizeResult NormalizeHex(string raw, ReadOnlySpan<char> value, int length, string name)
    {
        if (value.Length != length)
        {
            return NormalizeResult.Failure($"value: {name} must be {length} hex characters, got {value.Length}");
        }

        var bad = value.IndexOfAnyExcept("0123456789abcdefABCDEF");
        if (bad >= 0)
        {
            return NormalizeResult.Failure($"value: {name} contains non-hex character '{Escape(value[bad])}' at position {bad}");
        }

        // Already canonical (untrimmed, lower case): the input itself, no copy.
        return NormalizeResult.Success(value.Length == raw.Length && !value.ContainsAnyInRange('A', 'F') ? raw : value.ToString().ToLowerInvariant());
    }

    private static NormalizeResult NormalizeJa4(ReadOnlySpan<char> value)
    {
        // JA4 = a_b_c: a = protocol(t|q|d) + version(2) + sni(d|i) + ciphers(2 digits) + extensions(2 digits) + alpn(2);
        // b and c = 12 hex characters (truncated SHA-256).
        var error = $"value: '{Quote(value)}' is not a JA4 fingerprint (expected e.g. t13d1516h2_8daaf6152771_b186095e22b6)";
        if (value.Length != 36 || value[10] != '_' || value[23] != '_')
        {
            return NormalizeResult.Failure(error);
        }

        Span<char> lower = stackalloc char[36];
        value.ToLowerInvariant(lower);
        var a = lower[..10];
        if (a[0] is not ('t' or 'q' or 'd') || !char.IsAsciiLetterOrDigit(a[1]) || !char.IsAsciiLetterOrDigit(a[2]) ||
            a[3] is not ('d' or 'i') || !IsAllDigits(a[4..8]) || !char.IsAsciiLetterOrDigit(a[8]) || !char.IsAsciiLetterOrDigit(a[9]))
        {
            return NormalizeResult.Failure(error);
        }

        if (lower[11..23].IndexOfAnyExcept("0123456789abcdef") >= 0 || lower[24..].IndexOfAnyExcept("0123456789abcdef") >= 0)
        {
            return NormalizeResult.Failure(error);
        }

        return NormalizeResult.Success(new string(lower));
    }

    private static NormalizeResult NormalizeAsn(ReadOnlySpan<char> value)
    {
        var digits = value;
        if (digits.StartsWith("AS", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        ulong asn;
        var dot = digits.IndexOf('.');
        if (dot >= 0)
        {
            // asdot notation (RFC 5396): high.low, each 0-65535.
            if (!TryParseDecimal(digits[..dot], 65535, out var high) || !TryParseDecimal(digits[(dot + 1)..], 65535, out var low))
            {
                return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid AS number");
            }

            asn = (high << 16) | low;
        }
        else if (!TryParseDecimal(digits, uint.MaxValue, out asn))
        {
            return NormalizeResult.Failure($"value: '{Quote(value)}' is not a valid AS number (1-4294967295, optional 'AS' prefix)");
        }

        return asn == 0
            ? NormalizeResult.Failure("value: AS 0 is reserved (RFC 7607)")
            : NormalizeResult.Success(asn.ToString(CultureInfo.InvariantCulture));
    }

    private static bool TryParseDecimal(ReadOnlySpan<char> digits, ulong max, out ulong result)
    {
        result = 0;
        if (digits.IsEmpty || digits.Length > 10 || (digits.Length > 1 && digits[0] == '0'))
        {
            return false;
        }

        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            result = (result * 10) + (ulong)(c - '0');
        }

        return result <= max;
    }

    private static NormalizeResult NormalizeCve(ReadOnlySpan<char> value)
    {
        var error = $"value: '{Quote(value)}' is not a CVE identifier (expected CVE-YYYY-NNNN)";
        if (value.Length < 13 || value.Length > 28 || !value.StartsWith("CVE-", StringComparison.OrdinalIgnoreCase) || value[8] != '-')
        {
            return NormalizeResult.Failure(error);
        }

        var year = value[4..8];
        var sequence = value[9..];
        if (!IsAllDigits(year) || !IsAllDigits(sequence) || sequence.Length < 4 || sequence.Length > 19)
        {
            return NormalizeResult.Failure(error);
        }

        if (int.Parse(year, NumberStyles.None, CultureInfo.InvariantCulture) < 1999)
        {
            return NormalizeResult.Failure($"value: CVE year {year} is before 1999");
        }

        return NormalizeResult.Success(string.Concat("CVE-", year, "-", sequence));
    }

    /// <summary>Quotes untrusted input for an error message: bounded length, control characters escaped.</summary>
    internal static string Quote(ReadOnlySpan<char> value)
    {
        var builder = new StringBuilder(Math.Min(value.Length, MaxQuotedChars) + 4);
        var count = 0;
        foreach (var c in value)
        {
            if (count++ == MaxQuotedChars)
            {
                builder.Append('…');
                break;
            }

            builder.Append(Escape(c));
        }

        return builder.ToString();
    }

    private static string Escape(char c) =>
        char.IsControl(c) || c == '\'' || char.IsSurrogate(c)
            ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture)
            : c.ToString();
}
