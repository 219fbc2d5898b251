using System.Text.Json;
using CyberCoop.Configuration;

namespace CyberCoop.Agent.Parsing;

/// <summary>Opens a whole-file JSON source (STIX bundle, MISP feed event) once, counting it and reporting bad JSON.</summary>
internal static class WholeFileJson
{
    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 64 };

    /// <summary>
    /// Counts the file as one record; the parsed document, or null after reporting "invalid UTF-8" or "invalid JSON".
    /// The UTF-8 check comes first: JsonDocument checks a string's encoding only when the string is read, so a bad byte
    /// would otherwise surface as an exception in the middle of mapping (found by fuzzing, docs/fuzzing.md).
    /// </summary>
    public static JsonDocument? Open(ReadOnlyMemory<byte> json, ParseDiagnostics diagnostics)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        diagnostics.Lines++;
        if (Utf8Text.FirstInvalidByte(json.Span) is { } invalid)
        {
            diagnostics.Skip(0, "invalid UTF-8", $"first invalid byte at offset {invalid}");
            return null;
        }

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
