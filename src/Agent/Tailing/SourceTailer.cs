using System.Threading.Channels;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Agent.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace CyberCoop.Agent.Tailing;

/// <summary>
/// Follows the files of one source: finds them (wildcards in the file name), resumes each at its
/// checkpoint when identity and fingerprint match, reads new complete lines, and hands the
/// sightings with the checkpoint after them to the batcher (a bounded channel: when the batcher
/// or the spool is slow, this reader waits). Rename rotation: the old file stays open and is
/// drained through its handle, because the sensor keeps writing to it until it reopens its log
/// (Suricata on its postrotate SIGHUP); it is let go only once a new file exists at the path AND
/// the old one has not grown for the rotation grace, while the new file is followed from its
/// start meanwhile. Copy-truncate: a file shorter than what was read, or whose first bytes changed,
/// is read again from the start.
/// </summary>
internal sealed class SourceTailer : ISourceReader
{
    private const int MaxLinesPerRead = 2048;
    private const int LinesPerStep = 128;

    /// <summary>A chunk is handed on once it holds this many sightings (bounds memory for alert-dense input).</summary>
    public const int MaxSightingsPerChunk = 512;
    private const int LoggedSkipsPerSource = 50;

    private readonly SourceSettings _source;
    private readonly int _maxLineBytes;
    private readonly ChannelWriter<ReadChunk> _output;
    private readonly ILogger _logger;
    private readonly IReadOnlyDictionary<string, FileCheckpoint> _known;
    private readonly List<TrackedFile> _files = [];
    private readonly HashSet<string> _warnedPaths = new(StringComparer.Ordinal);
    private readonly SightingEmitter _emitter;
    private readonly TimeProvider _time;
    private readonly TimeSpan _rotationGrace;
    private bool _initialScanDone;
    private bool _missingReported;
    private readonly int _maxSightingsPerChunk;
    private long _skipsLogged;

    /// <summary>Creates a tailer.</summary>
    /// <param name="rotationGrace">
    /// How long a file renamed away must stay unchanged (once a new file exists at the path) before it is let go.
    /// </param>
    public SourceTailer(
        SourceSettings source,
        SightingFilter filter,
        int maxLineBytes,
        IReadOnlyDictionary<string, FileCheckpoint> known,
        ChannelWriter<ReadChunk> output,
        ILogger logger,
        TimeProvider time,
        TimeSpan rotationGrace,
        int maxSightingsPerChunk = MaxSightingsPerChunk)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSightingsPerChunk, 1);
        _maxSightingsPerChunk = Math.Min(maxSightingsPerChunk, MaxSightingsPerChunk);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(rotationGrace, TimeSpan.Zero);
        _time = time;
        _rotationGrace = rotationGrace;
        _source = source;
        _maxLineBytes = maxLineBytes;
        _known = known;
        _output = output;
        _logger = logger;
        Diagnostics = new ParseDiagnostics { OnSkipped = OnSkipped };
        _emitter = new SightingEmitter(source.Profile, filter, Diagnostics);
    }

    /// <summary>Counts for this source.</summary>
    public ParseDiagnostics Diagnostics { get; }

    /// <summary>Polls until cancelled.</summary>
    public async Task RunAsync(TimeSpan pollInterval, TimeProvider time, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await PollOnceAsync(cancellationToken).ConfigureAwait(false))
            {
                await Task.Delay(pollInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One pass over the source's files; true when anything was read.</summary>
    public async Task<bool> PollOnceAsync(CancellationToken cancellationToken)
    {
        Discover();
        var progressed = false;
        foreach (var file in _files.ToArray())
        {
            progressed |= await ReadAsync(file, cancellationToken).ConfigureAwait(false);
        }

        return progressed;
    }

    private void Discover()
    {
        var paths = ResolvePaths();
        ReportMissing(paths.Count == 0);
        foreach (var path in paths)
        {
            var pathId = NativeFile.Identify(path);
            var existing = _files.Find(f => pathId.IsKnown ? f.Identity == pathId : f.Path == path);
            if (existing is not null)
            {
                existing.Path = path;
                continue;
            }

            SafeFileHandle handle;
            try
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (_warnedPaths.Add(path))
                {
                    AgentLog.FileOpenFailed(_logger, _source.Name, path, ex.Message);
                }

                continue;
            }

            _warnedPaths.Remove(path);
            var identity = NativeFile.Identify(handle);
            var key = FileCheckpoint.MakeKey(_source.Name, identity, path);
            var length = RandomAccess.GetLength(handle);
            long offset = 0, line = 0;
            if (_known.TryGetValue(key, out var checkpoint) && checkpoint.Offset <= length && checkpoint.SameContent(handle))
            {
                offset = checkpoint.Offset;
                line = checkpoint.Line;
            }
            else if (!_initialScanDone && _source.StartAtEnd)
            {
                offset = length;
            }

            var file = new TrackedFile(path, handle, identity, key) { LastChangeAt = _time.GetUtcNow() };
            Open(file, offset, line);
            _files.Add(file);
            AgentLog.FileOpened(_logger, _source.Name, path, offset, line);
        }

        _initialScanDone = true;
    }

    private void Open(TrackedFile file, long offset, long line)
    {
        file.Lines?.Dispose();
        file.Lines = null;
        file.ParsedLength = -1;
        Diagnostics.File = file.Path;
        if (SourceFormats.IsWholeFile(_source.Format))
        {
            file.ParsedLength = offset > 0 ? offset : -1;
        }
        else
        {
            var parser = ParserFactory.CreateLineParser(_source.Format, _emitter, _source.Mapping, file.Path);
            file.Lines = new LineSource(file.Handle, offset, line, parser, Diagnostics, _maxLineBytes);
        }

        RefreshFingerprint(file);
    }

    private async Task<bool> ReadAsync(TrackedFile file, CancellationToken cancellationToken)
    {
        var atPath = NativeFile.Identify(file.Path);
        var rotated = file.Identity.IsKnown ? atPath != file.Identity : !File.Exists(file.Path);
        var length = RandomAccess.GetLength(file.Handle);
        var now = _time.GetUtcNow();
        var unchanged = length == file.LastLength;
        if (!unchanged)
        {
            file.LastLength = length;
            file.LastChangeAt = now;
        }

        // A rotated-away file is let go once its successor exists at the path and the sensor has stopped writing to it
        // (unchanged for the grace); until then it is drained like any other file.
        var successorExists = file.Identity.IsKnown ? atPath.IsKnown : File.Exists(file.Path);
        var done = rotated && successorExists && now - file.LastChangeAt >= _rotationGrace;
        var readTo = file.Lines?.ReadPosition ?? Math.Max(file.ParsedLength, 0);
        if (length < readTo || (file.FingerprintLength > 0 && !SameContent(file)))
        {
            AgentLog.FileTruncated(_logger, _source.Name, file.Path);
            Open(file, 0, 0);
        }

        Diagnostics.File = file.Path;
        var progressed = false;
        if (file.Lines is { } lines)
        {
            var read = 0;
            while (read < MaxLinesPerRead && _emitter.Output.Count < _maxSightingsPerChunk)
            {
                // Only a file that is let go is complete: then a last line without '\n' counts. Steps shrink as the
                // chunk fills, so a line yielding several sightings overshoots the chunk's size by little (the batcher
                // never cuts a chunk of line input: a batch must end where its saved offset says).
                var want = Math.Clamp((_maxSightingsPerChunk - _emitter.Output.Count) / 4, 1, LinesPerStep);
                var step = lines.ReadLines(want, final: done);
                read += step;
                if (step < want)
                {
                    break;
                }
            }

            if (read > 0 || _emitter.Output.Count > 0)
            {
                RefreshFingerprint(file);
                await EmitAsync(file, lines.Offset, lines.LineNumber, finished: false, cancellationToken).ConfigureAwait(false);
                progressed = true;
            }

            if (done && read == 0)
            {
                await FinishAsync(file, lines.Offset, lines.LineNumber, cancellationToken).ConfigureAwait(false);
            }
            else if (rotated && !file.RotationSeen)
            {
                file.RotationSeen = true;
                AgentLog.FileRotated(_logger, _source.Name, file.Path, _rotationGrace.TotalSeconds);
            }
        }
        else
        {
            // STIX and MISP feed files: parse a whole file once its length has been stable for one poll.
            if (unchanged && length != file.ParsedLength && length > 0)
            {
                RefreshFingerprint(file);
                FileParser.ParseWhole(file.Handle, _source.Format, _emitter);
                file.ParsedLength = length;
                await EmitAsync(file, length, 0, finished: false, cancellationToken).ConfigureAwait(false);
                progressed = true;
            }

            if (done && file.ParsedLength == length)
            {
                await FinishAsync(file, Math.Max(file.ParsedLength, 0), 0, cancellationToken).ConfigureAwait(false);
            }

            file.RotationSeen |= rotated;
        }

        return progressed;
    }

    private async Task FinishAsync(TrackedFile file, long offset, long line, CancellationToken cancellationToken)
    {
        await EmitAsync(file, offset, line, finished: true, cancellationToken).ConfigureAwait(false);
        AgentLog.FileFinished(_logger, _source.Name, file.Path, offset);
        _files.Remove(file);
        file.Dispose();
    }

    private async Task EmitAsync(TrackedFile file, long offset, long line, bool finished, CancellationToken cancellationToken)
    {
        var sightings = _emitter.Output;
        _emitter.Output = [];
        var checkpoint = new FileCheckpoint
        {
            Source = _source.Name,
            Path = file.Path,
            Device = file.Identity.Device,
            Inode = file.Identity.Inode,
            Fingerprint = file.Fingerprint,
            FingerprintLength = file.FingerprintLength,
            Offset = offset,
            Line = line,
            Finished = finished,
        };
        await _output.WriteAsync(new ReadChunk(sightings, checkpoint), cancellationToken).ConfigureAwait(false);
    }

    private static bool SameContent(TrackedFile file)
    {
        var (hex, length) = FileCheckpoint.ComputeFingerprint(file.Handle, file.FingerprintLength);
        return length == file.FingerprintLength && hex == file.Fingerprint;
    }

    private static void RefreshFingerprint(TrackedFile file)
    {
        if (file.FingerprintLength < FileCheckpoint.FingerprintBytes)
        {
            (file.Fingerprint, file.FingerprintLength) = FileCheckpoint.ComputeFingerprint(file.Handle);
        }
    }

    /// <summary>
    /// Says once that the configured path matches no file (a typo or a sensor not started yet would otherwise go
    /// unnoticed while it is quiet), and once when it appears; it is polled all along.
    /// </summary>
    private void ReportMissing(bool missing)
    {
        if (missing && _files.Count == 0 && !_missingReported)
        {
            _missingReported = true;
            AgentLog.SourceMissing(_logger, _source.Name, _source.Path);
        }
        else if (!missing && _missingReported)
        {
            _missingReported = false;
            AgentLog.SourceAppeared(_logger, _source.Name, _source.Path);
        }
    }

    private IReadOnlyList<string> ResolvePaths()
    {
        var path = _source.Path;
        var name = Path.GetFileName(path);
        if (name.AsSpan().IndexOfAny('*', '?') < 0)
        {
            return File.Exists(path) ? [path] : [];
        }

        var dir = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(dir))
        {
            return [];
        }

        try
        {
            // Oldest first, so a rotated file is read before its successor.
            return Directory.GetFiles(dir, name).OrderBy(File.GetLastWriteTimeUtc).ThenBy(p => p, StringComparer.Ordinal).ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (_warnedPaths.Add(dir))
            {
                AgentLog.FileOpenFailed(_logger, _source.Name, dir, ex.Message);
            }

            return [];
        }
    }

    private void OnSkipped(SkippedLine skipped)
    {
        var n = ++_skipsLogged;
        if (n <= LoggedSkipsPerSource)
        {
            AgentLog.LineSkipped(_logger, _source.Name, skipped.File, skipped.Line, skipped.Reason);
        }
        else if (n % 10_000 == 0)
        {
            AgentLog.SkipsSuppressed(_logger, _source.Name, n - LoggedSkipsPerSource, LoggedSkipsPerSource);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var f in _files)
        {
            f.Dispose();
        }

        _files.Clear();
    }

    private sealed class TrackedFile(string path, SafeFileHandle handle, FileIdentity identity, string key) : IDisposable
    {
        public string Path { get; set; } = path;

        public SafeFileHandle Handle { get; } = handle;

        public FileIdentity Identity { get; } = identity;

        public string Key { get; } = key;

        public LineSource? Lines { get; set; }

        public string Fingerprint { get; set; } = string.Empty;

        public int FingerprintLength { get; set; }

        public bool RotationSeen { get; set; }

        public long ParsedLength { get; set; } = -1;

        public long LastLength { get; set; } = -1;

        /// <summary>When the file's length was last seen to change (or the file was opened).</summary>
        public DateTimeOffset LastChangeAt { get; set; }

        public void Dispose()
        {
            Lines?.Dispose();
            Handle.Dispose();
        }
    }
}
