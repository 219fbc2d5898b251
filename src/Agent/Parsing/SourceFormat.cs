namespace CyberCoop.Agent.Parsing;

/// <summary>Input formats the agent reads.</summary>
internal enum SourceFormat
{
    /// <summary>Suricata EVE JSON, one event per line.</summary>
    Eve,

    /// <summary>Zeek logs, TSV (with #fields header) or JSON lines.</summary>
    Zeek,

    /// <summary>Generic JSON lines with a field mapping.</summary>
    Jsonl,

    /// <summary>Generic CSV with a header row and a column mapping.</summary>
    Csv,

    /// <summary>STIX 2.1 bundle (whole file).</summary>
    Stix,

    /// <summary>A MISP feed folder: manifest.json and one {"Event": …} file per event (each file parsed whole).</summary>
    MispFeed,
}

/// <summary>Names of <see cref="SourceFormat"/> as written in config and on the command line.</summary>
internal static class SourceFormats
{
    /// <summary>True for formats read a whole file at a time (once its length is stable), not line by line.</summary>
    public static bool IsWholeFile(SourceFormat format) => format is SourceFormat.Stix or SourceFormat.MispFeed;

    /// <summary>The accepted names.</summary>
    public const string Names = "eve, zeek, jsonl, csv, stix, misp-feed";

    /// <summary>Parses a format name (case-insensitive).</summary>
    public static bool TryParse(string? text, out SourceFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "eve" or "suricata":
                format = SourceFormat.Eve;
                return true;
            case "zeek" or "bro":
                format = SourceFormat.Zeek;
                return true;
            case "jsonl" or "json" or "ndjson":
                format = SourceFormat.Jsonl;
                return true;
            case "csv":
                format = SourceFormat.Csv;
                return true;
            case "stix":
                format = SourceFormat.Stix;
                return true;
            case "misp-feed" or "misp":
                format = SourceFormat.MispFeed;
                return true;
            default:
                format = default;
                return false;
        }
    }
}
