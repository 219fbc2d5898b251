using CyberCoop.Agent.Configuration;

namespace CyberCoop.Agent.Parsing;

/// <summary>Generic JSON lines: one object per line, read through a <see cref="FieldMapping"/>.</summary>
internal sealed class JsonlParser(SightingEmitter emitter, FieldMapping mapping) : ILineParser
{
    private readonly Dictionary<string, string> _record = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public bool NeedsPriming => false;

    /// <inheritdoc />
    public void PrimeLine(ReadOnlySpan<byte> line)
    {
    }

    /// <inheritdoc />
    public void ParseLine(ReadOnlySpan<byte> line, long lineNumber)
    {
        if (line.Trim(" \t"u8).IsEmpty)
        {
            return;
        }

        var error = JsonRecordReader.Read(line, mapping.AllFields, _record)
            ?? MappedRecordEmitter.Emit(emitter, mapping, _record);
        if (error is not null)
        {
            emitter.Diagnostics.Skip(lineNumber, error);
        }
    }
}
