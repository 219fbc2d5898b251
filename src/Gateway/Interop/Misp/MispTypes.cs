using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Interop.Misp;

/// <summary>Our indicator types and TLP levels as MISP attribute types, categories and tags.</summary>
internal static class MispTypes
{
    /// <summary>Tag prefix for what MISP has no field for (confidence, sectors, our type where MISP has none).</summary>
    public const string TagPrefix = "cybercoop:";

    /// <summary>MISP attribute type and category of an indicator type.</summary>
    public static (string Type, string Category) Of(IndicatorType type) => type switch
    {
        IndicatorType.Ipv4 or IndicatorType.Ipv6 or IndicatorType.Cidr => ("ip-dst", "Network activity"),
        IndicatorType.Domain => ("domain", "Network activity"),
        IndicatorType.Url => ("url", "Network activity"),
        IndicatorType.Email => ("email-src", "Payload delivery"),
        IndicatorType.Md5 => ("md5", "Payload delivery"),
        IndicatorType.Sha1 => ("sha1", "Payload delivery"),
        IndicatorType.Sha256 => ("sha256", "Payload delivery"),
        IndicatorType.Sha512 => ("sha512", "Payload delivery"),
        IndicatorType.Ja3 => ("ja3-fingerprint-md5", "Network activity"),
        IndicatorType.Ja4 => ("text", "Network activity"), // MISP has no JA4 attribute type; tagged cybercoop:type="ja4"
        IndicatorType.Asn => ("AS", "Network activity"),
        IndicatorType.Cve => ("vulnerability", "External analysis"),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "indicator type is unspecified or unknown"),
    };

    /// <summary>The MISP tlp taxonomy tag of a level ("tlp:amber+strict").</summary>
    public static string TlpTag(Tlp tlp) => "tlp:" + TlpNames.ToName(tlp).ToLowerInvariant();
}
