using System.Text;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>
/// STIX 2.1 patterns (section 9) for each indicator type. CVE has no pattern (it is exported as a
/// <c>vulnerability</c> object); JA3/JA4 have no standard cyber-observable property and use the custom
/// <c>network-traffic</c> properties <c>x_ja3_md5</c> / <c>x_ja4</c> (docs/interoperability.md).
/// </summary>
internal static class StixPatterns
{
    /// <summary>The pattern for an indicator, or null for a type no STIX pattern expresses (CVE).</summary>
    public static string? For(IndicatorType type, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return type switch
        {
            IndicatorType.Ipv4 => Compare("ipv4-addr:value", value),
            IndicatorType.Ipv6 => Compare("ipv6-addr:value", value),
            IndicatorType.Cidr => Compare(value.Contains(':', StringComparison.Ordinal) ? "ipv6-addr:value" : "ipv4-addr:value", value),
            IndicatorType.Domain => Compare("domain-name:value", value),
            IndicatorType.Url => Compare("url:value", value),
            IndicatorType.Email => Compare("email-addr:value", value),
            IndicatorType.Md5 => Compare("file:hashes.MD5", value),
            IndicatorType.Sha1 => Compare("file:hashes.'SHA-1'", value),
            IndicatorType.Sha256 => Compare("file:hashes.'SHA-256'", value),
            IndicatorType.Sha512 => Compare("file:hashes.'SHA-512'", value),
            IndicatorType.Ja3 => Compare("network-traffic:x_ja3_md5", value),
            IndicatorType.Ja4 => Compare("network-traffic:x_ja4", value),
            IndicatorType.Asn => ulong.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                ? "[autonomous-system:number = " + n.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]"
                : null,
            _ => null,
        };
    }

    /// <summary>A STIX string literal: single quotes, with ' and \ escaped by a backslash (section 9.2).</summary>
    public static string Literal(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            if (c is '\'' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.Append('\'').ToString();
    }

    private static string Compare(string path, string value) => "[" + path + " = " + Literal(value) + "]";
}
