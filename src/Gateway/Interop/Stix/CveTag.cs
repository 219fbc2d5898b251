namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>Recognises a CVE id in a tag ("cve-2024-3400" → "CVE-2024-3400").</summary>
internal static class CveTag
{
    /// <summary>True when <paramref name="tag"/> is a CVE id (CVE-YYYY-NNNN…, any case); returns it upper case.</summary>
    public static bool TryNormalize(string? tag, out string cve)
    {
        cve = string.Empty;
        if (tag is null || tag.Length is < 13 or > 32 || !tag.StartsWith("cve-", StringComparison.OrdinalIgnoreCase) || tag[8] != '-')
        {
            return false;
        }

        for (var i = 4; i < tag.Length; i++)
        {
            if (i != 8 && !char.IsAsciiDigit(tag[i]))
            {
                return false;
            }
        }

        cve = tag.ToUpperInvariant();
        return true;
    }
}
