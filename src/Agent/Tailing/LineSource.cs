using System.Text.Unicode;
using CyberCoop.Agent.Parsing;
using Microsoft.Win32.SafeHandles;

namespace CyberCoop.Agent.Tailing;

/// <summary>
/// Reads the lines of one open file through a parser: checks UTF-8, counts and skips bad or
/// over-long lines with their line number, and never lets a parser failure escape.
/// </summary>
internal sealed class LineSource : IDisposable
{
    private readonly ILineParser _parser;
    private readonly ParseDiagnostics _diagnostics;
    private readonly LineReader _reader;
    private readonly int _maxLineBytes;

    /// <summary>Opens reading at <paramref name="offset"/> (the start of line <paramref name="lineNumber"/> + 1).</summary>
    public LineSource(SafeFileHandle handle, long offset, long lineNumber, ILineParser parser, ParseDiagnostics diagnostics, int maxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(handle);
        _parser = parser;
        _diagnostics = diagnostics;
        _maxLineBytes = maxLineBytes;
        if (offset > 0 && parser.NeedsPriming)
        {
            Prime(handle, offset, maxLineBytes);
        }

        _reader = new LineReader(handle, offset, lineNumber, maxLineBytes);
    }

    /// <summary>Reads a non-seekable <paramref name="stream"/> (a pipe, standard input) once, from its current position.</summary>
    public LineSource(Stream stream, ILineParser parser, ParseDiagnostics diagnostics, int maxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _parser = parser;
        _diagnostics = diagnostics;
        _maxLineBytes = maxLineBytes;
        _reader = new LineReader(stream, maxLineBytes);
    }

    /// <summary>Offset after the last line handled.</summary>
    public long Offset => _reader.Offset;

    /// <summary>Number of the last line handled.</summary>
    public long LineNumber => _reader.LineNumber;

    /// <summary>How far the file has been read (including a partial last line).</summary>
    public long ReadPosition => _reader.ReadPosition;

    /// <summary>
    /// Handles up to <paramref name="maxLines"/> available lines; returns how many. With
    /// <paramref name="final"/> the file is known complete, so a last line without '\n' counts.
    /// </summary>
    public int ReadLines(int maxLines, bool final)
    {
        var count = 0;
        while (count < maxLines)
        {
            var result = _reader.Next(final, out var line);
            if (result == LineResult.NoData)
            {
                break;
            }

            count++;
            _diagnostics.Lines++;
            var number = _reader.LineNumber;
            if (result == LineResult.TooLong)
            {
                _diagnostics.Skip(number, $"line longer than {_maxLineBytes} bytes");
                continue;
            }

            if (!Utf8.IsValid(line))
            {
                _diagnostics.Skip(number, "invalid UTF-8");
                continue;
            }

            try
            {
                _parser.ParseLine(line, number);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or OverflowException or IndexOutOfRangeException or System.Text.Json.JsonException)
            {
                _diagnostics.Skip(number, "unparseable line (" + ex.GetType().Name + ")");
            }
        }

        return count;
    }

    private void Prime(SafeFileHandle handle, long offset, int maxLineBytes)
    {
        using var reader = new LineReader(handle, 0, 0, maxLineBytes);
        while (reader.Offset < offset)
        {
            var result = reader.Next(final: false, out var line);
            if (result == LineResult.NoData)
            {
                break;
            }

            if (result == LineResult.Line && reader.Offset <= offset)
            {
                _parser.PrimeLine(line);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _reader.Dispose();
}
