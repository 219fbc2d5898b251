using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Short lower-case names of indicator types ("ipv4", "sha256"): the proto enum name
/// without its <c>INDICATOR_TYPE_</c> prefix. Used in deterministic ids, config and output.
/// </summary>
internal static class IndicatorTypeNames
{
    /// <summary>Returns the short name, or throws for UNSPECIFIED and unknown values.</summary>
    public static string ToName(IndicatorType type) => type switch
    {
        IndicatorType.Ipv4 => "ipv4",
        IndicatorType.Ipv6 => "ipv6",
        IndicatorType.Cidr => "cidr",
        IndicatorType.Domain => "domain",
        IndicatorType.Url => "url",
        IndicatorType.Email => "email",
        IndicatorType.Md5 => "md5",
        IndicatorType.Sha1 => "sha1",
        IndicatorType.Sha256 => "sha256",
        IndicatorType.Ja3 => "ja3",
        IndicatorType.Ja4 => "ja4",
        IndicatorType.Asn => "asn",
        IndicatorType.Cve => "cve",
        IndicatorType.Sha512 => "sha512",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "indicator type is unspecified or unknown"),
    };

    /// <summary>True for the types this build understands (everything but UNSPECIFIED and unknown numbers).</summary>
    public static bool IsKnown(IndicatorType type) => type is >= IndicatorType.Ipv4 and <= IndicatorType.Sha512;

    /// <summary>
    /// Parses "ipv4", "IPV4" or "INDICATOR_TYPE_IPV4" (case-insensitive).
    /// </summary>
    public static bool TryParse(string? text, out IndicatorType type)
    {
        type = IndicatorType.Unspecified;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        if (span.StartsWith("INDICATOR_TYPE_", StringComparison.OrdinalIgnoreCase))
        {
            span = span["INDICATOR_TYPE_".Length..];
        }

        for (var t = IndicatorType.Ipv4; t <= IndicatorType.Sha512; t++)
        {
            if (span.Equals(ToName(t), StringComparison.OrdinalIgnoreCase))
            {
                type = t;
                return true;
            }
        }

        return false;
    }

    /// <summary>Parses like <see cref="TryParse"/> and throws a FormatException naming the text otherwise.</summary>
    public static IndicatorType Parse(string? text) =>
        TryParse(text, out var type)
            ? type
            : throw new FormatException($"'{text}' is not an indicator type (expected one of ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, sha512, ja3, ja4, asn, cve)");
}
