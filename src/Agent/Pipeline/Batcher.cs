using System.Security.Cryptography;
using System.Threading.Channels;
using CyberCoop.Agent.Spooling;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Agent.Pipeline;

/// <summary>
/// Collects sightings from the readers into batches of <c>maxItems</c> (a chunk that alone holds a few more
/// becomes one batch; batches end at chunk boundaries), flushed when full or when the oldest pending item has
/// waited <c>linger</c>. A flush appends the batch (with a new random 16-byte batch id) to the spool durably, then saves the read state, then publishes the
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

    /// <summary>The most sightings the gateway takes in one batch.</summary>
    public const int MaxBatchSightings = Configuration.AgentConfigValidator.MaxBatchItems;

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
        // A batch ends at a chunk boundary: its read state then says exactly which lines it holds. A chunk of line
        // input may hold a few sightings more than maxItems (the last line read can yield several), so such a chunk
        // becomes a batch of its own rather than being cut: a batch cut inside a chunk would be spooled with the
        // previous chunk's offset, and an agent killed after the gateway acknowledged it, before the chunk's offset
        // was saved, read its lines again on restart and the gateway stored them twice (with a new random batch id).
        // Only a chunk past the gateway's hard limits (a whole STIX or MISP file) is cut; see SplitAsync.
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

        if (chunk.Sightings.Count > MaxBatchSightings || chunkBytes > MaxBatchBytes)
        {
            await SplitAsync(chunk, cancellationToken).ConfigureAwait(false); // _pending was empty: flushed above
        }
        else
        {
            _pending.AddRange(chunk.Sightings);
            _pendingBytes += chunkBytes;
        }

        _checkpoints[chunk.Checkpoint.Key] = chunk.Checkpoint;
        Interlocked.Increment(ref _chunksTaken);
        if (_pending.Count >= maxItems || _pendingBytes >= MaxBatchBytes)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false); // the batch ends with this chunk: its offset is exact
        }
    }

    /// <summary>
    /// Cuts a chunk too large for one batch into batches of at most maxItems sightings. All but the last are spooled
    /// now, before the chunk's offset can be saved, so their ids must survive a restart: each id is derived from the
    /// file's identity and the batch's own content instead of drawn at random. An agent killed after the gateway
    /// acknowledged such a batch reads the chunk again, cuts the same batch with the same id, and the gateway answers
    /// DUPLICATE instead of storing its sightings twice. The last part stays pending and is spooled with the chunk's
    /// offset.
    /// </summary>
    private async Task SplitAsync(ReadChunk chunk, CancellationToken cancellationToken)
    {
        var last = chunk.Sightings.Count - 1;
        for (var i = 0; i <= last; i++)
        {
            var sighting = chunk.Sightings[i];
            _pending.Add(sighting);
            _pendingBytes += sighting.CalculateSize() + 4;
            if (i < last && (_pending.Count >= maxItems || _pendingBytes >= MaxBatchBytes))
            {
                await FlushAsync(cancellationToken, chunk.Checkpoint).ConfigureAwait(false);
                _firstPendingAt = time.GetTimestamp();
            }
        }
    }

    /// <summary>The id of a batch cut from inside a chunk: SHA-256 over the file's identity and the batch, first 16 bytes.</summary>
    internal static ByteString PartId(FileCheckpoint file, IngestBatch batch)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("cybercoop/agent/chunk-part/v1\0"u8);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(file.Key));
        hash.AppendData(batch.ToByteArray());
        return ByteString.CopyFrom(hash.GetHashAndReset().AsSpan(0, 16));
    }

    /// <summary>Writes what is pending: batch to the spool, then the read state, then publish.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => FlushAsync(cancellationToken, partOf: null);

    /// <summary>As <see cref="FlushAsync(CancellationToken)"/>; <paramref name="partOf"/> names the chunk a cut batch comes from.</summary>
    private async Task FlushAsync(CancellationToken cancellationToken, FileCheckpoint? partOf)
    {
        if (_pending.Count == 0 && _checkpoints.Count == 0)
        {
            _firstPendingAt = -1;
            return;
        }

        if (_pending.Count > 0)
        {
            var batch = new IngestBatch();
            batch.Sightings.AddRange(_pending);
            batch.BatchId = partOf is null ? ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)) : PartId(partOf, batch);
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
