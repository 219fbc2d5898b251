using System.Net;
using System.Net.Sockets;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing;

/// <summary>Indicator type and TLP names as they appear in mappings and files.</summary>
internal static class IndicatorTypeNames
{
    /// <summary>Accepted type names for messages.</summary>
    public const string Names = "ipv4, ipv6, ip, cidr, domain, url, email, md5, sha1, sha256, sha512, ja3, ja4, asn, cve, auto";

    /// <summary>Parses a type name such as "ipv4", "domain", "sha-256", "hostname" (case-insensitive).</summary>
    public static bool TryParse(string? text, out IndicatorType type)
    {
        type = (text?.Trim().ToLowerInvariant()) switch
        {
            "ipv4" or "ipv4-addr" or "ip-dst" or "ip-src" or "ip" or "ipv6" or "ipv6-addr" or "addr" => IndicatorType.Ipv4,
            "cidr" or "subnet" or "network" => IndicatorType.Cidr,
            "domain" or "domain-name" or "hostname" or "fqdn" or "host" => IndicatorType.Domain,
            "url" or "uri" => IndicatorType.Url,
            "email" or "email-addr" or "email-src" => IndicatorType.Email,
            "md5" => IndicatorType.Md5,
            "sha1" or "sha-1" => IndicatorType.Sha1,
            "sha256" or "sha-256" => IndicatorType.Sha256,
            "sha512" or "sha-512" => IndicatorType.Sha512,
            "ja3" or "ja3s" => IndicatorType.Ja3,
            "ja4" => IndicatorType.Ja4,
            "asn" or "as" => IndicatorType.Asn,
            "cve" or "vulnerability" => IndicatorType.Cve,
            _ => IndicatorType.Unspecified,
        };
        return type != IndicatorType.Unspecified;
    }

    /// <summary>True when the name asks for the type to be guessed from the value.</summary>
    public static bool IsAuto(string? text) => string.Equals(text?.Trim(), "auto", StringComparison.OrdinalIgnoreCase);

    /// <summary>Lower-case wire name of a type ("ipv4", "sha256").</summary>
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
        IndicatorType.Sha512 => "sha512",
        IndicatorType.Ja3 => "ja3",
        IndicatorType.Ja4 => "ja4",
        IndicatorType.Asn => "asn",
        IndicatorType.Cve => "cve",
        _ => "unspecified",
    };

    /// <summary>
    /// Resolves the IP family for an "ip" typed value, or guesses the type of a bare value:
    /// addresses, CIDRs, URLs, e-mail addresses, hex hashes by length, CVE ids, domains.
    /// </summary>
    public static IndicatorType Refine(IndicatorType declared, string value)
    {
        if (declared is IndicatorType.Ipv4 or IndicatorType.Ipv6)
        {
            return IPAddress.TryParse(value, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6 ? IndicatorType.Ipv6 : IndicatorType.Ipv4;
        }

        if (declared is IndicatorType.Md5 or IndicatorType.Sha1 or IndicatorType.Sha256 or IndicatorType.Sha512 && IsHex(value))
        {
            return HashTypeByLength(value.Length, declared);
        }

        return declared != IndicatorType.Unspecified ? declared : Guess(value);
    }

    /// <summary>Guesses the type of a value; Unspecified when nothing fits.</summary>
    public static IndicatorType Guess(string value)
    {
        if (value.Length == 0)
        {
            return IndicatorType.Unspecified;
        }

        if (value.Contains('/', StringComparison.Ordinal) && IPNetwork.TryParse(value, out _))
        {
            return IndicatorType.Cidr;
        }

        if (IPAddress.TryParse(value, out var address) && !value.Contains('%', StringComparison.Ordinal))
        {
            return address.AddressFamily == AddressFamily.InterNetworkV6 ? IndicatorType.Ipv6 : IndicatorType.Ipv4;
        }

        if (value.Contains("://", StringComparison.Ordinal))
        {
            return IndicatorType.Url;
        }

        if (value.Contains('@', StringComparison.Ordinal))
        {
            return IndicatorType.Email;
        }

        if (IsHex(value))
        {
            var byLength = HashTypeByLength(value.Length, IndicatorType.Unspecified);
            if (byLength != IndicatorType.Unspecified)
            {
                return byLength;
            }
        }

        if (value.StartsWith("CVE-", StringComparison.OrdinalIgnoreCase))
        {
            return IndicatorType.Cve;
        }

        if (value.Contains('.', StringComparison.Ordinal) && !value.Contains(' ', StringComparison.Ordinal) && !value.Contains('/', StringComparison.Ordinal))
        {
            return IndicatorType.Domain;
        }

        return IndicatorType.Unspecified;
    }

    /// <summary>Parses a TLP name: CLEAR/WHITE, GREEN, AMBER, AMBER+STRICT, RED, with or without "TLP:".</summary>
    public static bool TryParseTlp(string? text, out Tlp tlp)
    {
        var t = text?.Trim().ToUpperInvariant() ?? string.Empty;
        if (t.StartsWith("TLP:", StringComparison.Ordinal))
        {
            t = t[4..];
        }

        tlp = t switch
        {
            "CLEAR" or "WHITE" => Tlp.Clear,
            "GREEN" => Tlp.Green,
            "AMBER" => Tlp.Amber,
            "AMBER+STRICT" or "AMBER_STRICT" or "AMBER-STRICT" => Tlp.AmberStrict,
            "RED" => Tlp.Red,
            _ => Tlp.Unspecified,
        };
        return tlp != Tlp.Unspecified;
    }

    /// <summary>Upper-case TLP name ("AMBER+STRICT").</summary>
    public static string TlpName(Tlp tlp) => tlp switch
    {
        Tlp.Clear => "CLEAR",
        Tlp.Green => "GREEN",
        Tlp.Amber => "AMBER",
        Tlp.AmberStrict => "AMBER+STRICT",
        Tlp.Red => "RED",
        _ => "UNSPECIFIED",
    };

    private static IndicatorType HashTypeByLength(int length, IndicatorType fallback) => length switch
    {
        32 => fallback == IndicatorType.Ja3 ? IndicatorType.Ja3 : IndicatorType.Md5,
        40 => IndicatorType.Sha1,
        64 => IndicatorType.Sha256,
        128 => IndicatorType.Sha512,
        _ => fallback,
    };

    private static bool IsHex(string value) => value.Length > 0 && !value.AsSpan().ContainsAnyExcept(s_hex);

    private static readonly System.Buffers.SearchValues<char> s_hex = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");
}
