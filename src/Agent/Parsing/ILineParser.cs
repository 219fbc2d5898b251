namespace CyberCoop.Agent.Parsing;

/// <summary>
/// Parses one line of a line-oriented format into sightings (through its <see cref="SightingEmitter"/>).
/// One instance per file: formats with headers (Zeek TSV, CSV) keep the header they have seen.
/// Implementations report bad lines through <see cref="ParseDiagnostics.Skip"/> and never throw for bad data.
/// </summary>
internal interface ILineParser
{
    /// <summary>Parses one complete line (without its line terminator); the bytes are valid UTF-8.</summary>
    void ParseLine(ReadOnlySpan<byte> line, long lineNumber);

    /// <summary>
    /// Feeds a line read again from the start of the file when resuming in its middle, so header
    /// state (Zeek #fields, CSV header) is restored without producing sightings.
    /// </summary>
    void PrimeLine(ReadOnlySpan<byte> line);

    /// <summary>True when the parser needs <see cref="PrimeLine"/> for lines before a resume point.</summary>
    bool NeedsPriming { get; }
}
