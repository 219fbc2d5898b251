using System.Text.Json;

namespace CyberCoop.Agent.Parsing;

/// <summary>Opens a whole-file JSON source (STIX bundle, MISP feed event) once, counting it and reporting bad JSON.</summary>
internal static class WholeFileJson
{
    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 64 };

    /// <summary>Counts the file as one record; the parsed document, or null after reporting "invalid JSON".</summary>
    public static JsonDocument? Open(ReadOnlyMemory<byte> json, ParseDiagnostics diagnostics)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        diagnostics.Lines++;
        try
        {
            return JsonDocument.Parse(json, s_options);
        }
        catch (JsonException)
        {
            diagnostics.Skip(0, "invalid JSON (truncated or malformed)");
            return null;
        }
    }
}
