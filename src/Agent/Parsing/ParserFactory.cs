using CyberCoop.Agent.Configuration;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing;

/// <summary>Creates the parser for a format.</summary>
internal static class ParserFactory
{
    /// <summary>Mapping used for jsonl/csv when none is configured: column "value", type guessed.</summary>
    public static FieldMapping DefaultMapping { get; } = new() { ValueField = "value", FixedType = IndicatorType.Unspecified };

    /// <summary>A parser for one file of a line-oriented format (not STIX).</summary>
    public static ILineParser CreateLineParser(SourceFormat format, SightingEmitter emitter, FieldMapping? mapping, string path) => format switch
    {
        SourceFormat.Eve => new EveParser(emitter),
        SourceFormat.Zeek => new ZeekParser(emitter, mapping, path),
        SourceFormat.Jsonl => new JsonlParser(emitter, mapping ?? DefaultMapping),
        SourceFormat.Csv => new CsvParser(emitter, mapping ?? DefaultMapping),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a line-oriented format"),
    };
}
