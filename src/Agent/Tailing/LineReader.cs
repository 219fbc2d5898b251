using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace CyberCoop.Agent.Tailing;

/// <summary>What <see cref="LineReader.Next"/> found.</summary>
internal enum LineResult
{
    /// <summary>A complete line.</summary>
    Line,

    /// <summary>A line longer than the limit was passed over (never held in memory whole).</summary>
    TooLong,

    /// <summary>No complete line is available yet (end of file; a partial line stays buffered).</summary>
    NoData,
}

/// <summary>
/// Splits a file into lines from a given offset, reading with positional reads through a pooled
/// buffer. A line is consumed only when its terminating '\n' has been read, so a line written in
/// two pieces is returned once, whole. Lines over the limit are skipped while streaming past them.
/// <see cref="Offset"/> is always the start of the next unread line: the value to persist.
/// A non-seekable input (a pipe, standard input) is read sequentially from a <see cref="Stream"/> instead.
/// </summary>
internal sealed class LineReader : IDisposable
{
    private const int InitialBuffer = 64 * 1024;

    private readonly SafeFileHandle? _handle;
    private readonly Stream? _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private long _readPosition;
    private bool _discarding;
    private long _discarded;

    /// <summary>Creates a reader starting at <paramref name="offset"/>, which must be the start of a line.</summary>
    public LineReader(SafeFileHandle handle, long offset, long lineNumber, int maxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _handle = handle;
        _maxLineBytes = maxLineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBuffer, maxLineBytes + 2));
        _readPosition = offset;
        Offset = offset;
        LineNumber = lineNumber;
    }

    /// <summary>Creates a reader of a non-seekable <paramref name="stream"/> (a pipe, standard input), from its current position.</summary>
    public LineReader(Stream stream, int maxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBuffer, maxLineBytes + 2));
    }

    /// <summary>File offset just after the last consumed line.</summary>
    public long Offset { get; private set; }

    /// <summary>Number of the last consumed line (1-based; 0 before the first).</summary>
    public long LineNumber { get; private set; }

    /// <summary>File offset up to which bytes have been read (including a buffered partial line).</summary>
    public long ReadPosition => _readPosition;

    /// <summary>
    /// Returns the next line. With <paramref name="final"/> a partial line at end of file is returned
    /// as a line (the file is complete: a one-shot parse, or a rotated file being finished).
    /// The span is valid until the next call.
    /// </summary>
    public LineResult Next(bool final, out ReadOnlySpan<byte> line)
    {
        line = default;
        while (true)
        {
            var window = _buffer.AsSpan(_start, _end - _start);
            var newline = window.IndexOf((byte)'\n');
            if (_discarding)
            {
                if (newline >= 0)
                {
                    Consume(newline + 1, _discarded + newline + 1);
                    _discarding = false;
                    _discarded = 0;
                    return LineResult.TooLong;
                }

                _discarded += window.Length;
                _start = _end = 0;
            }
            else if (newline >= 0)
            {
                var content = window[..newline];
                Consume(newline + 1, newline + 1);
                if (content.Length > _maxLineBytes)
                {
                    return LineResult.TooLong;
                }

                line = content.Length > 0 && content[^1] == (byte)'\r' ? content[..^1] : content;
                return LineResult.Line;
            }
            else if (window.Length > _maxLineBytes)
            {
                _discarding = true;
                _discarded = window.Length;
                _start = _end = 0;
            }

            if (!Fill())
            {
                if (!final || (_end == _start && !_discarding))
                {
                    return LineResult.NoData;
                }

                // Last line without a terminator in a complete file.
                var rest = _buffer.AsSpan(_start, _end - _start);
                if (_discarding)
                {
                    Consume(rest.Length, _discarded + rest.Length);
                    _discarding = false;
                    _discarded = 0;
                    return LineResult.TooLong;
                }

                Consume(rest.Length, rest.Length);
                line = rest.Length > 0 && rest[^1] == (byte)'\r' ? rest[..^1] : rest;
                return LineResult.Line;
            }
        }
    }

    private void Consume(int bufferBytes, long fileBytes)
    {
        _start += bufferBytes;
        Offset += fileBytes;
        LineNumber++;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>Reads more bytes; false at end of file.</summary>
    private bool Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, _maxLineBytes + 2));
            if (bigger.Length <= _buffer.Length)
            {
                ArrayPool<byte>.Shared.Return(bigger);
                bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length + 1);
            }

            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        var n = _stream is null
            ? RandomAccess.Read(_handle!, _buffer.AsSpan(_end), _readPosition)
            : _stream.Read(_buffer.AsSpan(_end));
        if (n <= 0)
        {
            return false;
        }

        _end += n;
        _readPosition += n;
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
