using System.Security.Cryptography;
using System.Threading.Channels;
using CyberCoop.Agent.Spooling;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Agent.Pipeline;

/// <summary>
/// Collects sightings from the readers into batches of at most <c>maxItems</c>, flushed when full
/// or when the oldest pending item has waited <c>linger</c>. A flush appends the batch (with a new
/// random 16-byte batch id) to the spool durably, then saves the read state, then publishes the
/// batch to delivery: so a read offset is committed only after its sightings are on disk, and a
/// batch can be deleted by delivery only after the offsets past it are saved.
/// </summary>
internal sealed class Batcher(
    ChannelReader<ReadChunk> input,
    Spool spool,
    TailStateStore state,
    int maxItems,
    TimeSpan linger,
    TimeProvider time)
{
    private readonly List<Sighting> _pending = [];
    private readonly Dictionary<string, FileCheckpoint> _checkpoints = new(StringComparer.Ordinal);
    private long _firstPendingAt = -1;
    private long _pendingBytes;
    private long _chunksTaken;

    /// <summary>Flush before a batch grows past this (the gateway takes at most 4 MiB).</summary>
    public const int MaxBatchBytes = 3 * 1024 * 1024;

    /// <summary>Batches written to the spool.</summary>
    public long BatchesSpooled { get; private set; }

    /// <summary>Sightings written to the spool.</summary>
    public long SightingsSpooled { get; private set; }

    /// <summary>Chunks taken from the input so far (spooled or still pending); safe to read from any thread.</summary>
    public long ChunksTaken => Interlocked.Read(ref _chunksTaken);

    /// <summary>Runs until the input completes (then flushes) or cancellation.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            while (input.TryRead(out var chunk))
            {
                await AddAsync(chunk, cancellationToken).ConfigureAwait(false);
            }

            if (_firstPendingAt >= 0 && time.GetElapsedTime(_firstPendingAt) >= linger)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            var waitRead = input.WaitToReadAsync(cancellationToken).AsTask();
            if (_firstPendingAt >= 0)
            {
                var remaining = linger - time.GetElapsedTime(_firstPendingAt);
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time, timer.Token);
                await Task.WhenAny(waitRead, delay).ConfigureAwait(false);
                await timer.CancelAsync().ConfigureAwait(false);
                if (!waitRead.IsCompleted)
                {
                    continue;
                }
            }

            if (!await waitRead.ConfigureAwait(false))
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
        }
    }

    private async Task AddAsync(ReadChunk chunk, CancellationToken cancellationToken)
    {
        // A batch ends at a chunk boundary whenever it can: its read state then says exactly which lines it holds. A
        // batch cut inside a chunk is spooled with the previous chunk's offset, so if the agent is killed after the
        // gateway acknowledged it but before the chunk's offset is saved, its lines are read and stored again.
        // Chunks hold at most maxItems sightings (the tailers are told so), so only a chunk over the byte cap is split.
        var chunkBytes = 0L;
        foreach (var sighting in chunk.Sightings)
        {
            chunkBytes += sighting.CalculateSize() + 4;
        }

        if (_pending.Count > 0 && (_pending.Count + chunk.Sightings.Count > maxItems || _pendingBytes + chunkBytes > MaxBatchBytes))
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_firstPendingAt < 0)
        {
            _firstPendingAt = time.GetTimestamp();
        }

        var last = chunk.Sightings.Count - 1;
        for (var i = 0; i <= last; i++)
        {
            var sighting = chunk.Sightings[i];
            _pending.Add(sighting);
            _pendingBytes += sighting.CalculateSize() + 4;
            if (i < last && (_pending.Count >= maxItems || _pendingBytes >= MaxBatchBytes))
            {
                // Only when one chunk alone exceeds a batch: the chunk's checkpoint is not included, part of it is pending.
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                _firstPendingAt = time.GetTimestamp();
            }
        }

        _checkpoints[chunk.Checkpoint.Key] = chunk.Checkpoint;
        Interlocked.Increment(ref _chunksTaken);
        if (_pending.Count >= maxItems || _pendingBytes >= MaxBatchBytes)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false); // the batch ends with this chunk: its offset is exact
        }
    }

    /// <summary>Writes what is pending: batch to the spool, then the read state, then publish.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.Count == 0 && _checkpoints.Count == 0)
        {
            _firstPendingAt = -1;
            return;
        }

        if (_pending.Count > 0)
        {
            var batch = new IngestBatch { BatchId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)) };
            batch.Sightings.AddRange(_pending);
            await spool.AppendAsync(batch, _checkpoints.Values, cancellationToken).ConfigureAwait(false);
            BatchesSpooled++;
            SightingsSpooled += _pending.Count;
            _pending.Clear();
            _pendingBytes = 0;
        }

        if (_checkpoints.Count > 0)
        {
            state.Apply(_checkpoints.Values);
            await spool.WhileDiskFullAsync(state.Save, "read state", cancellationToken).ConfigureAwait(false);
            _checkpoints.Clear();
        }

        spool.Publish();
        _firstPendingAt = _pending.Count > 0 ? time.GetTimestamp() : -1;
    }
}
