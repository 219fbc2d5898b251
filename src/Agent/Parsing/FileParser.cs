using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using Microsoft.Win32.SafeHandles;

namespace CyberCoop.Agent.Parsing;

/// <summary>Parses a complete file once (the <c>parse</c> dry run and tests).</summary>
internal static class FileParser
{
    /// <summary>Default longest line: 1 MiB.</summary>
    public const int DefaultMaxLineBytes = 1024 * 1024;

    /// <summary>Lines parsed before their sightings are handed on.</summary>
    internal const int LinesPerGroup = 256;

    /// <summary>The path that stands for standard input.</summary>
    public const string StandardInput = "-";

    /// <summary>
    /// Parses <paramref name="path"/>, calling <paramref name="onSightings"/> with each group of
    /// sightings as they are produced (so memory stays bounded on big files). <c>-</c> reads standard input;
    /// a non-seekable file (a pipe, <c>/dev/stdin</c>, a process substitution) is read sequentially, once.
    /// </summary>
    public static void Parse(
        string path,
        SourceFormat format,
        SightingEmitter emitter,
        FieldMapping? mapping,
        Action<List<Sighting>> onSightings,
        int maxLineBytes = DefaultMaxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(emitter);
        ArgumentNullException.ThrowIfNull(onSightings);
        emitter.Diagnostics.File = path;
        using var stream = path == StandardInput
            ? Console.OpenStandardInput()
            : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        var seekable = stream is FileStream { CanSeek: true };
        if (SourceFormats.IsWholeFile(format))
        {
            if (seekable)
            {
                ParseWhole(((FileStream)stream).SafeFileHandle, format, emitter);
            }
            else
            {
                ParseWhole(stream, format, emitter);
            }

            Flush(emitter, onSightings);
            return;
        }

        var parser = ParserFactory.CreateLineParser(format, emitter, mapping, path);
        using var source = seekable
            ? new LineSource(((FileStream)stream).SafeFileHandle, 0, 0, parser, emitter.Diagnostics, maxLineBytes)
            : new LineSource(stream, parser, emitter.Diagnostics, maxLineBytes);
        // 256 lines per group: an all-alert file makes ~4 sightings of ~1 KB each per line, and a group's sightings are
        // alive until handed on, so 4,096-line groups (~16 MB) outlived gen0 and were promoted: peak RSS 377-476 MB and
        // 1.38-1.52 s CPU for 100,000 alert lines, against 130 MB and 0.98-1.00 s with 256 (docs/agent-performance.md).
        while (source.ReadLines(LinesPerGroup, final: true) > 0)
        {
            Flush(emitter, onSightings);
        }

        Flush(emitter, onSightings);
    }

    /// <summary>Reads a whole STIX bundle or MISP feed file (up to 64 MiB) and parses it.</summary>
    public static void ParseWhole(SafeFileHandle handle, SourceFormat format, SightingEmitter emitter)
    {
        if (format == SourceFormat.MispFeed)
        {
            ArgumentNullException.ThrowIfNull(emitter);
            if (Read(handle, emitter, Misp.MispFeedParser.MaxBytes, "MISP feed") is { } misp)
            {
                Misp.MispFeedParser.Parse(misp, emitter);
            }

            return;
        }

        ParseStix(handle, emitter);
    }

    /// <summary>Reads a whole STIX bundle or MISP feed from a non-seekable stream (a pipe, standard input) and parses it.</summary>
    private static void ParseWhole(Stream stream, SourceFormat format, SightingEmitter emitter)
    {
        var misp = format == SourceFormat.MispFeed;
        var maxBytes = misp ? Misp.MispFeedParser.MaxBytes : StixBundleParser.MaxBytes;
        var bytes = new byte[Math.Min(maxBytes + 1L, 64 * 1024)];
        var read = 0;
        while (true)
        {
            if (read == bytes.Length)
            {
                if (bytes.Length > maxBytes)
                {
                    emitter.Diagnostics.Lines++;
                    emitter.Diagnostics.Skip(0, $"{(misp ? "MISP feed" : "STIX")} file larger than {maxBytes} bytes");
                    return;
                }

                Array.Resize(ref bytes, (int)Math.Min(bytes.Length * 2L, maxBytes + 1L));
            }

            var n = stream.Read(bytes.AsSpan(read));
            if (n <= 0)
            {
                break;
            }

            read += n;
        }

        if (misp)
        {
            Misp.MispFeedParser.Parse(bytes.AsMemory(0, read), emitter);
        }
        else
        {
            StixBundleParser.Parse(bytes.AsMemory(0, read), emitter);
        }
    }

    /// <summary>Reads a whole STIX file (up to <see cref="StixBundleParser.MaxBytes"/>) and parses it.</summary>
    public static void ParseStix(SafeFileHandle handle, SightingEmitter emitter)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        if (Read(handle, emitter, StixBundleParser.MaxBytes, "STIX") is { } stix)
        {
            StixBundleParser.Parse(stix, emitter);
        }
    }

    private static ReadOnlyMemory<byte>? Read(SafeFileHandle handle, SightingEmitter emitter, int maxBytes, string what)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(emitter);
        var length = RandomAccess.GetLength(handle);
        if (length > maxBytes)
        {
            emitter.Diagnostics.Lines++;
            emitter.Diagnostics.Skip(0, $"{what} file larger than {maxBytes} bytes");
            return null;
        }

        var bytes = new byte[length];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
            if (n <= 0)
            {
                break;
            }

            read += n;
        }

        return bytes.AsMemory(0, read);
    }

    private static void Flush(SightingEmitter emitter, Action<List<Sighting>> onSightings)
    {
        if (emitter.Output.Count > 0)
        {
            var batch = emitter.Output;
            emitter.Output = [];
            onSightings(batch);
        }
    }
}
