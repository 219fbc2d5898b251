using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Spooling;

/// <summary>
/// Durable, ordered, bounded queue of batches on disk. Append-only segment files hold records
/// <c>[u32 length][8-byte SHA-256 prefix][u32 batch length][IngestBatch][checkpoints JSON]</c>,
/// each fsync'd before it counts; an ack file (written atomically) records the position after the
/// last batch the gateway acknowledged. Fully acknowledged segments are deleted. A torn record at
/// the end (crash mid-write) is cut off on open. Each record carries the file checkpoints its
/// sightings came from, so a crash between spooling and saving the read state neither loses nor
/// repeats lines. One writer (the batcher) and one reader (delivery) may use it concurrently.
/// When the unacknowledged bytes reach the cap, <see cref="AppendAsync"/> waits (backpressure
/// up to the file readers) and logs a warning; nothing is dropped.
/// </summary>
internal sealed class Spool : IDisposable
{
    private const int HeaderBytes = 12;
    private const int MaxRecordBytes = 64 * 1024 * 1024;
    private const string SegmentSuffix = ".seg";
    private const string AckFile = "ack";

    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly long _segmentBytes;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly SortedSet<long> _segments = [];
    private readonly List<FileCheckpoint> _recovered = [];

    private FileStream? _writer;
    private long _writeSegment;
    private long _ackSegment;
    private long _ackOffset;
    private long _visibleSegment;
    private long _visibleOffset;
    private long _unackedBytes;
    private int _unackedRecords;
    private bool _full;
    private long _diskFullStalls;
    private TaskCompletionSource _changed = NewSignal();

    private Spool(string directory, long maxBytes, long segmentBytes, ILogger logger, TimeProvider time)
    {
        _time = time;
        _directory = directory;
        _maxBytes = maxBytes;
        _segmentBytes = segmentBytes;
        _logger = logger;
    }

    /// <summary>Checkpoints found in unacknowledged records at open, latest per file.</summary>
    public IReadOnlyList<FileCheckpoint> RecoveredCheckpoints => _recovered;

    /// <summary>How long a write that found the disk full waits before it is tried again.</summary>
    public static TimeSpan DiskFullRetry { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Times a write found the disk full and had to wait for space (spool records and the read state).</summary>
    public long DiskFullStalls => Interlocked.Read(ref _diskFullStalls);

    /// <summary>Unacknowledged bytes.</summary>
    public long UnacknowledgedBytes
    {
        get
        {
            lock (_gate)
            {
                return _unackedBytes;
            }
        }
    }

    /// <summary>True while a writer waits for delivery to free space (the spool is at its cap).</summary>
    public bool IsFull
    {
        get
        {
            lock (_gate)
            {
                return _full;
            }
        }
    }

    /// <summary>Unacknowledged batches.</summary>
    public int UnacknowledgedBatches
    {
        get
        {
            lock (_gate)
            {
                return _unackedRecords;
            }
        }
    }

    /// <summary>Opens (creating) the spool in <paramref name="directory"/>.</summary>
    public static Spool Open(string directory, long maxBytes, ILogger logger, long segmentBytes = 16 * 1024 * 1024, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(logger);
        Directory.CreateDirectory(directory);
        var spool = new Spool(directory, maxBytes, Math.Max(64 * 1024, Math.Min(segmentBytes, maxBytes / 4)), logger, time ?? TimeProvider.System);
        spool.Recover();
        return spool;
    }

    private void Recover()
    {
        foreach (var file in Directory.GetFiles(_directory, "*" + SegmentSuffix))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(file), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                _segments.Add(seq);
            }
        }

        (_ackSegment, _ackOffset) = ReadAck();
        foreach (var seq in _segments.Where(s => s < _ackSegment).ToList())
        {
            File.Delete(SegmentPath(seq));
            _segments.Remove(seq);
        }

        var latest = new Dictionary<string, FileCheckpoint>(StringComparer.Ordinal);
        foreach (var seq in _segments)
        {
            var path = SegmentPath(seq);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            long offset = 0;
            while (TryReadRecord(stream, offset, out var size, out var batch, out var checkpoints))
            {
                if (seq > _ackSegment || (seq == _ackSegment && offset >= _ackOffset))
                {
                    _unackedBytes += size;
                    _unackedRecords++;
                    foreach (var c in checkpoints)
                    {
                        latest[c.Key] = c;
                    }
                }

                offset += size;
                _ = batch;
            }

            if (offset < stream.Length)
            {
                AgentLog.SpoolTruncated(_logger, Path.GetFileName(path), offset);
                stream.SetLength(offset);
                stream.Flush(flushToDisk: true);
            }
        }

        _recovered.AddRange(latest.Values);
        _writeSegment = _segments.Count > 0 ? _segments.Max : Math.Max(_ackSegment, 1);
        OpenWriter(_writeSegment);
        if (!_segments.Contains(_ackSegment) || _ackOffset > SegmentLength(_ackSegment))
        {
            (_ackSegment, _ackOffset) = (_segments.Min, 0);
        }

        _visibleSegment = _writeSegment;
        _visibleOffset = _writer!.Length;
        AgentLog.SpoolOpened(_logger, _unackedRecords, _unackedBytes);
    }

    private void OpenWriter(long seq)
    {
        var path = SegmentPath(seq);
        var created = !File.Exists(path);
        var next = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
        _writer?.Dispose();
        _writer = next;
        _writer.Seek(0, SeekOrigin.End);
        _segments.Add(seq);
        if (created)
        {
            NativeFile.SyncDirectory(_directory);
        }
    }

    /// <summary>
    /// Appends a batch durably (fsync) with the checkpoints of the lines it came from. The batch
    /// becomes visible to <see cref="PeekAsync"/> only after <see cref="Publish"/>, which the caller
    /// invokes once it has saved the read state. Waits while the spool is at its cap.
    /// </summary>
    public async ValueTask AppendAsync(IngestBatch batch, IReadOnlyCollection<FileCheckpoint> checkpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(checkpoints);
        var record = Encode(batch, checkpoints);
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_unackedBytes == 0 || _unackedBytes + record.Length <= _maxBytes)
                {
                    if (_full)
                    {
                        _full = false;
                        AgentLog.SpoolResumed(_logger, _unackedBytes);
                    }

                    break;
                }

                if (!_full)
                {
                    _full = true;
                    AgentLog.SpoolFull(_logger, _unackedBytes, _maxBytes);
                }

                wait = _changed.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await WhileDiskFullAsync(() => WriteRecord(record), "spool " + _directory, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _unackedBytes += record.Length;
            _unackedRecords++;
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/>, and while it fails because the disk is full (ENOSPC, EDQUOT) waits
    /// <see cref="DiskFullRetry"/> and runs it again: the batch stays in memory, the read offsets are not advanced, the
    /// file readers pause behind the bounded channel, and nothing is dropped. Logged once when it starts and once when
    /// space returns.
    /// </summary>
    public async ValueTask WhileDiskFullAsync(Action write, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        var waiting = false;
        while (true)
        {
            try
            {
                write();
                break;
            }
            catch (IOException ex) when (IsDiskFull(ex))
            {
                if (!waiting)
                {
                    waiting = true;
                    Interlocked.Increment(ref _diskFullStalls);
                    AgentLog.DiskFull(_logger, what, ex.Message, (long)DiskFullRetry.TotalMilliseconds);
                }

                await Task.Delay(DiskFullRetry, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        if (waiting)
        {
            AgentLog.DiskHasRoom(_logger, what);
        }
    }

    /// <summary>Whether <paramref name="ex"/> reports a full disk or an exhausted quota (errno ENOSPC 28, EDQUOT 122).</summary>
    internal static bool IsDiskFull(IOException ex) => ex.HResult is 28 or 122;

    /// <summary>Appends one record (starting a new segment when the current one is full); a failed write is cut off again.</summary>
    private void WriteRecord(byte[] record)
    {
        if (_writer!.Length > 0 && _writer.Length + record.Length > _segmentBytes)
        {
            lock (_gate)
            {
                // The number advances only once the new segment exists, so a failed creation is simply retried.
                OpenWriter(_writeSegment + 1);
                _writeSegment++;
            }
        }

        var start = _writer.Length;
        try
        {
            _writer.Write(record);
            _writer.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            // A record written in part must not stay in front of the next one (only a torn tail is cut off on open).
            try
            {
                _writer.SetLength(start);
                _writer.Seek(start, SeekOrigin.Begin);
            }
            catch (IOException)
            {
                // Truncating frees space and does not fail on a full disk; if it does, the open cuts the torn tail.
            }

            throw;
        }
    }

    /// <summary>Makes every appended batch visible to delivery.</summary>
    public void Publish()
    {
        lock (_gate)
        {
            _visibleSegment = _writeSegment;
            _visibleOffset = _writer!.Length;
            Signal();
        }
    }

    /// <summary>Waits for and returns the oldest unacknowledged batch (it stays until acknowledged).</summary>
    public async ValueTask<SpoolRecord> PeekAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            long seq, offset;
            lock (_gate)
            {
                while (_ackSegment < _visibleSegment && _ackOffset >= SegmentLength(_ackSegment))
                {
                    var next = _segments.GetViewBetween(_ackSegment + 1, long.MaxValue);
                    (_ackSegment, _ackOffset) = (next.Count > 0 ? next.Min : _visibleSegment, 0);
                    DeleteSegmentsBefore(_ackSegment);
                }

                var available = _ackSegment < _visibleSegment || _ackOffset < _visibleOffset;
                if (available)
                {
                    seq = _ackSegment;
                    offset = _ackOffset;
                    wait = Task.CompletedTask;
                }
                else
                {
                    seq = offset = -1;
                    wait = _changed.Task;
                }
            }

            if (seq >= 0)
            {
                using var stream = new FileStream(SegmentPath(seq), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                if (!TryReadRecord(stream, offset, out var size, out var batch, out _))
                {
                    throw new InvalidDataException($"spool segment {SegmentPath(seq)} has no valid record at byte {offset}");
                }

                return new SpoolRecord(batch!, seq, offset, size);
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Records that the gateway committed <paramref name="record"/> (the oldest one); frees its space.</summary>
    public void Acknowledge(SpoolRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            if (record.Segment != _ackSegment || record.Offset != _ackOffset)
            {
                throw new InvalidOperationException("only the oldest unacknowledged batch can be acknowledged");
            }

            _ackOffset += record.Size;
            _unackedBytes -= record.Size;
            _unackedRecords--;
            WriteAck();
            DeleteSegmentsBefore(_ackSegment);
            Signal();
        }
    }

    /// <summary>Moves a batch the gateway refuses as a whole out of the queue into a ".rejected" file.</summary>
    public string DeadLetter(SpoolRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var path = Path.Combine(_directory, Convert.ToHexStringLower(record.Batch.BatchId.Span) + ".rejected");
        File.WriteAllBytes(path, record.Batch.ToByteArray());
        Acknowledge(record);
        return path;
    }

    private void DeleteSegmentsBefore(long seq)
    {
        foreach (var old in _segments.GetViewBetween(long.MinValue, seq - 1).ToList())
        {
            if (old == _writeSegment)
            {
                continue;
            }

            File.Delete(SegmentPath(old));
            _segments.Remove(old);
        }
    }

    private long SegmentLength(long seq) => seq == _writeSegment ? _writer!.Length : new FileInfo(SegmentPath(seq)).Length;

    private void Signal()
    {
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string SegmentPath(long seq) => Path.Combine(_directory, seq.ToString("D12", CultureInfo.InvariantCulture) + SegmentSuffix);

    private (long Segment, long Offset) ReadAck()
    {
        var path = Path.Combine(_directory, AckFile);
        if (!File.Exists(path))
        {
            return (_segments.Count > 0 ? _segments.Min : 1, 0);
        }

        var text = File.ReadAllText(path).Trim().Split(' ');
        if (text.Length == 2
            && long.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seg)
            && long.TryParse(text[1], NumberStyles.None, CultureInfo.InvariantCulture, out var off))
        {
            return (seg, off);
        }

        throw new InvalidDataException($"spool ack file '{path}' is corrupt; inspect the spool folder (batches are re-sent safely if it is removed)");
    }

    private void WriteAck()
    {
        var path = Path.Combine(_directory, AckFile);
        var temp = path + ".tmp";
        using (var s = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            s.Write(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{_ackSegment} {_ackOffset}\n")));
            s.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        NativeFile.SyncDirectory(_directory);
    }

    private static byte[] Encode(IngestBatch batch, IReadOnlyCollection<FileCheckpoint> checkpoints)
    {
        var batchBytes = batch.ToByteArray();
        var json = JsonSerializer.SerializeToUtf8Bytes([.. checkpoints], TailStateJsonContext.Default.ListFileCheckpoint);
        var payloadLength = 4 + batchBytes.Length + json.Length;
        if (payloadLength + HeaderBytes > MaxRecordBytes)
        {
            throw new ArgumentException($"batch of {batchBytes.Length} bytes is too large to spool", nameof(batch));
        }

        var record = new byte[HeaderBytes + payloadLength];
        var payload = record.AsSpan(HeaderBytes);
        BinaryPrimitives.WriteInt32LittleEndian(payload, batchBytes.Length);
        batchBytes.CopyTo(payload[4..]);
        json.CopyTo(payload[(4 + batchBytes.Length)..]);
        BinaryPrimitives.WriteInt32LittleEndian(record, payloadLength);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(payload, hash);
        hash[..8].CopyTo(record.AsSpan(4));
        return record;
    }

    private static bool TryReadRecord(FileStream stream, long offset, out int size, out IngestBatch? batch, out List<FileCheckpoint> checkpoints)
    {
        size = 0;
        batch = null;
        checkpoints = [];
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (RandomAccess.Read(stream.SafeFileHandle, header, offset) != HeaderBytes)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length < 4 || length > MaxRecordBytes || offset + HeaderBytes + length > stream.Length)
        {
            return false;
        }

        var payload = new byte[length];
        if (RandomAccess.Read(stream.SafeFileHandle, payload, offset + HeaderBytes) != length)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(payload, hash);
        if (!hash[..8].SequenceEqual(header[4..]))
        {
            return false;
        }

        var batchLength = BinaryPrimitives.ReadInt32LittleEndian(payload);
        if (batchLength < 0 || batchLength > length - 4)
        {
            return false;
        }

        try
        {
            batch = IngestBatch.Parser.ParseFrom(payload.AsSpan(4, batchLength));
            checkpoints = JsonSerializer.Deserialize(payload.AsSpan(4 + batchLength), TailStateJsonContext.Default.ListFileCheckpoint) ?? [];
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or JsonException)
        {
            return false;
        }

        size = HeaderBytes + length;
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _writer?.Dispose();
            _writer = null;
        }
    }
}
