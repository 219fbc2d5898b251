using System.Text;
using CyberCoop.Agent.Configuration;

namespace CyberCoop.Agent.Parsing;

/// <summary>
/// Generic CSV (RFC 4180 quoting, one record per line): the first line that is not empty and does
/// not start with '#' is the header naming the columns the <see cref="FieldMapping"/> refers to.
/// </summary>
internal sealed class CsvParser(SightingEmitter emitter, FieldMapping mapping) : ILineParser
{
    private readonly Dictionary<string, string> _record = new(StringComparer.Ordinal);
    private readonly List<string> _cells = [];
    private string[]? _header;

    /// <inheritdoc />
    public bool NeedsPriming => true;

    /// <inheritdoc />
    public void PrimeLine(ReadOnlySpan<byte> line)
    {
        if (_header is null && IsRecord(line) && Split(line) is null)
        {
            _header = [.. _cells.Select(c => c.Trim())];
        }
    }

    /// <inheritdoc />
    public void ParseLine(ReadOnlySpan<byte> line, long lineNumber)
    {
        if (!IsRecord(line))
        {
            return;
        }

        var error = Split(line);
        if (error is not null)
        {
            emitter.Diagnostics.Skip(lineNumber, error);
            return;
        }

        if (_header is null)
        {
            _header = [.. _cells.Select(c => c.Trim())];
            if (!_header.Contains(mapping.ValueField, StringComparer.Ordinal))
            {
                emitter.Diagnostics.Skip(lineNumber, $"CSV header has no column '{mapping.ValueField}'");
            }

            return;
        }

        if (_cells.Count != _header.Length)
        {
            emitter.Diagnostics.Skip(lineNumber, "column count does not match the header");
            return;
        }

        _record.Clear();
        for (var i = 0; i < _header.Length; i++)
        {
            _record[_header[i]] = _cells[i];
        }

        if (MappedRecordEmitter.Emit(emitter, mapping, _record) is { } reason)
        {
            emitter.Diagnostics.Skip(lineNumber, reason);
        }
    }

    private static bool IsRecord(ReadOnlySpan<byte> line)
    {
        var t = line.Trim(" \t"u8);
        return !t.IsEmpty && t[0] != (byte)'#';
    }

    private string? Split(ReadOnlySpan<byte> line)
    {
        _cells.Clear();
        var text = Encoding.UTF8.GetString(line);
        var delimiter = mapping.Delimiter;
        var sb = new StringBuilder();
        var i = 0;
        while (true)
        {
            sb.Clear();
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        return "unterminated quoted field";
                    }

                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            sb.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    sb.Append(text[i++]);
                }

                if (i < text.Length && text[i] != delimiter)
                {
                    return "text after a closing quote";
                }
            }
            else
            {
                var end = text.IndexOf(delimiter, i);
                if (end < 0)
                {
                    end = text.Length;
                }

                sb.Append(text, i, end - i);
                i = end;
            }

            _cells.Add(sb.ToString());
            if (i >= text.Length)
            {
                return null;
            }

            i++; // delimiter
        }
    }
}
