using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Policy;

/// <summary>
/// TLP 2.0 names as operators write them: "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED".
/// Parsing is case-insensitive and accepts an optional "TLP:" prefix.
/// </summary>
internal static class TlpNames
{
    /// <summary>The five names in order from least to most restrictive.</summary>
    public static IReadOnlyList<string> All { get; } = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];

    /// <summary>Returns the TLP 2.0 name; throws for UNSPECIFIED and unknown values.</summary>
    public static string ToName(Tlp tlp) => tlp switch
    {
        Tlp.Clear => "CLEAR",
        Tlp.Green => "GREEN",
        Tlp.Amber => "AMBER",
        Tlp.AmberStrict => "AMBER+STRICT",
        Tlp.Red => "RED",
        _ => throw new ArgumentOutOfRangeException(nameof(tlp), tlp, "TLP is unspecified or unknown"),
    };

    /// <summary>Parses a TLP name; false for anything else (including "UNSPECIFIED").</summary>
    public static bool TryParse(string? text, out Tlp tlp)
    {
        tlp = Tlp.Unspecified;
        if (text is null)
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        if (span.StartsWith("TLP:", StringComparison.OrdinalIgnoreCase))
        {
            span = span[4..];
        }

        for (var i = 0; i < All.Count; i++)
        {
            if (span.Equals(All[i], StringComparison.OrdinalIgnoreCase))
            {
                tlp = (Tlp)(i + 1);
                return true;
            }
        }

        // Also accept the proto/C# spellings ("AMBER_STRICT", "AmberStrict") that config binders produce.
        if (span.Equals("AMBER_STRICT", StringComparison.OrdinalIgnoreCase) || span.Equals("AmberStrict", StringComparison.OrdinalIgnoreCase))
        {
            tlp = Tlp.AmberStrict;
            return true;
        }

        return false;
    }

    /// <summary>Parses a TLP name or throws a FormatException listing the valid names.</summary>
    public static Tlp Parse(string? text) =>
        TryParse(text, out var tlp)
            ? tlp
            : throw new FormatException($"'{text}' is not a TLP level (expected CLEAR, GREEN, AMBER, AMBER+STRICT or RED)");
}
