namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>TAXII 2.1 media types and header names (TAXII 2.1 sections 1.6.8, 3.3, 3.6).</summary>
internal static class TaxiiMedia
{
    public const string Taxii = "application/taxii+json;version=2.1";
    public const string Stix = "application/stix+json;version=2.1";
    public const string DateAddedFirst = "X-TAXII-Date-Added-First";
    public const string DateAddedLast = "X-TAXII-Date-Added-Last";

    /// <summary>True when an Accept header admits the TAXII 2.1 media type (absent, */*, application/*, or taxii+json of 2.1 or no version).</summary>
    public static bool Acceptable(string? accept)
    {
        if (string.IsNullOrWhiteSpace(accept))
        {
            return true;
        }

        foreach (var range in accept.Split(','))
        {
            var parts = range.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0)
            {
                continue;
            }

            var type = parts[0];
            if (type is "*/*" or "application/*")
            {
                return true;
            }

            if (!type.Equals("application/taxii+json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var version = parts.Skip(1).FirstOrDefault(p => p.StartsWith("version=", StringComparison.OrdinalIgnoreCase));
            if (version is null || version.Equals("version=2.1", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when a Content-Type is the TAXII media type of version 2.1 (the version parameter may be omitted).</summary>
    public static bool IsTaxiiContent(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return false;
        }

        var parts = contentType.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !parts[0].Equals("application/taxii+json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var version = parts.Skip(1).FirstOrDefault(p => p.StartsWith("version=", StringComparison.OrdinalIgnoreCase));
        return version is null || version.Equals("version=2.1", StringComparison.OrdinalIgnoreCase);
    }
}
