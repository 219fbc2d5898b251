using System.Threading.Channels;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Spooling;
using CyberCoop.Agent.Tailing;
using CyberCoop.Agent.Tests.Delivery;
using CyberCoop.Contracts.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Agent.Tests.Spooling;

public sealed class BatcherTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ReadChunk Chunk(int from, int count, long offset, ulong inode = 9) => new(
        [.. Enumerable.Range(from, count).Select(i => new Sighting { Type = IndicatorType.Ipv4, Value = $"198.51.100.{i}", Tlp = Tlp.Amber })],
        new FileCheckpoint { Source = "s", Path = "/f", Device = 1, Inode = inode, Offset = offset, Line = offset });

    [Fact]
    public async Task A_chunk_holding_a_few_sightings_more_than_max_items_becomes_one_batch_that_ends_at_its_offset()
    {
        // The last line a reader takes can yield several sightings, so a chunk may hold more than maxItems. Cut into two
        // batches, the first would be spooled, sent and acknowledged while the saved offset still pointed before the
        // chunk: an agent killed then read the chunk again and the gateway stored those sightings twice.
        using var dir = new TempDirectory();
        using var spool = Spool.Open(dir.File("spool"), 1 << 30, NullLogger.Instance);
        var state = TailStateStore.Load(dir.File("state.json"));
        var channel = Channel.CreateUnbounded<ReadChunk>();
        var time = new FakeTimeProvider();
        var batcher = new Batcher(channel.Reader, spool, state, maxItems: 4, linger: TimeSpan.FromSeconds(5), time);
        var run = batcher.RunAsync(Ct);

        await channel.Writer.WriteAsync(Chunk(1, 6, offset: 600), Ct);
        var first = await spool.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);

        Assert.Equal(6, first.Batch.Sightings.Count);
        Assert.Equal(600, Assert.Single(TailStateStore.Load(dir.File("state.json")).Entries.Values).Offset);

        channel.Writer.Complete();
        await run.WaitAsync(s_timeout, Ct);
        Assert.Equal(1, spool.UnacknowledgedBatches);
        Assert.Equal(6, batcher.SightingsSpooled);
    }

    [Fact]
    public async Task Batches_cut_from_a_chunk_past_the_gateways_limit_get_the_same_ids_when_the_chunk_is_read_again_after_a_crash()
    {
        // A whole STIX or MISP file can yield more sightings than one batch may hold. The batches cut from it are spooled
        // before the file's offset is saved; after a crash the file is parsed again, and the gateway must recognise the
        // batches it already stored: same content from the same file, same batch id.
        const int Sightings = Batcher.MaxBatchSightings + 1_500;
        var first = await CutBatchIdsAsync(Chunk(1, Sightings, offset: 9_000), maxItems: 1_000);
        var afterCrash = await CutBatchIdsAsync(Chunk(1, Sightings, offset: 9_000), maxItems: 1_000);
        var otherFile = await CutBatchIdsAsync(Chunk(1, Sightings, offset: 9_000, inode: 10), maxItems: 1_000);
        var otherContent = await CutBatchIdsAsync(Chunk(2, Sightings, offset: 9_000), maxItems: 1_000);

        Assert.Equal(7, first.Count); // 6 full batches cut from inside the chunk, then the rest with the chunk's offset
        Assert.Equal(first.Take(6), afterCrash.Take(6));
        Assert.NotEqual(first[6], afterCrash[6]); // the last one carries the offset: a random id, as for any batch
        Assert.Equal(7, first.Distinct().Count());
        Assert.Empty(first.Take(6).Intersect(otherFile));
        Assert.Empty(first.Take(6).Intersect(otherContent));
    }

    /// <summary>Runs a batcher over one chunk with a fresh spool and state (as after a crash before the offset was saved).</summary>
    private static async Task<List<string>> CutBatchIdsAsync(ReadChunk chunk, int maxItems)
    {
        using var dir = new TempDirectory();
        using var spool = Spool.Open(dir.File("spool"), 1 << 30, NullLogger.Instance);
        var state = TailStateStore.Load(dir.File("state.json"));
        var channel = Channel.CreateUnbounded<ReadChunk>();
        var batcher = new Batcher(channel.Reader, spool, state, maxItems, linger: TimeSpan.FromSeconds(5), new FakeTimeProvider());
        var run = batcher.RunAsync(Ct);
        await channel.Writer.WriteAsync(chunk, Ct);
        channel.Writer.Complete();
        await run.WaitAsync(s_timeout, Ct);

        var ids = new List<string>();
        var sightings = 0;
        while (spool.UnacknowledgedBatches > 0)
        {
            var record = await spool.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
            Assert.InRange(record.Batch.Sightings.Count, 1, maxItems);
            sightings += record.Batch.Sightings.Count;
            ids.Add(Convert.ToHexString(record.Batch.BatchId.Span));
            spool.Acknowledge(record);
        }

        Assert.Equal(chunk.Sightings.Count, sightings);
        return ids;
    }

    [Fact]
    public async Task Partial_batch_is_spooled_when_the_linger_time_passes()
    {
        using var dir = new TempDirectory();
        using var spool = Spool.Open(dir.File("spool"), 1 << 30, NullLogger.Instance);
        var state = TailStateStore.Load(dir.File("state.json"));
        var channel = Channel.CreateUnbounded<ReadChunk>();
        var time = new FakeTimeProvider();
        var batcher = new Batcher(channel.Reader, spool, state, maxItems: 1000, linger: TimeSpan.FromSeconds(1), time);
        using var cts = new CancellationTokenSource();
        var run = batcher.RunAsync(cts.Token);

        await channel.Writer.WriteAsync(Chunk(1, 3, offset: 300), Ct);
        var peek = spool.PeekAsync(Ct).AsTask();
        // Once the batcher holds the chunk, only the linger can flush it, and the fake clock has not moved.
        await Eventually.TrueAsync(() => batcher.ChunksTaken == 1, s_timeout);
        Assert.False(peek.IsCompleted);
        Assert.Equal(0, spool.UnacknowledgedBatches);

        // Advance until the batcher's timer fires (it may not have armed it yet).
        while (!peek.IsCompleted)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.WhenAny(peek, Task.Delay(20, Ct));
        }

        var record = await peek.WaitAsync(s_timeout, Ct);
        Assert.Equal(3, record.Batch.Sightings.Count);
        Assert.Equal(16, record.Batch.BatchId.Length);
        Assert.Equal(300, Assert.Single(state.Entries.Values).Offset);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(s_timeout, Ct));
    }

    [Fact]
    public async Task A_batch_ends_at_a_chunk_boundary_so_an_acknowledged_batch_never_holds_lines_past_the_saved_offset()
    {
        // Chunks of 3 with batches of 4: cutting the second chunk would spool and publish a batch holding one of its
        // lines while the saved offset still points before it; an agent killed after that batch was acknowledged read
        // the line again on restart and the gateway stored it twice.
        using var dir = new TempDirectory();
        using var spool = Spool.Open(dir.File("spool"), 1 << 30, NullLogger.Instance);
        var state = TailStateStore.Load(dir.File("state.json"));
        var channel = Channel.CreateUnbounded<ReadChunk>();
        var time = new FakeTimeProvider();
        var batcher = new Batcher(channel.Reader, spool, state, maxItems: 4, linger: TimeSpan.FromSeconds(5), time);
        var run = batcher.RunAsync(Ct);

        await channel.Writer.WriteAsync(Chunk(1, 3, offset: 300), Ct);
        await channel.Writer.WriteAsync(Chunk(4, 3, offset: 600), Ct);
        var first = await spool.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);

        Assert.Equal(["198.51.100.1", "198.51.100.2", "198.51.100.3"], first.Batch.Sightings.Select(s => s.Value));
        Assert.Equal(300, Assert.Single(TailStateStore.Load(dir.File("state.json")).Entries.Values).Offset);

        time.Advance(TimeSpan.FromSeconds(6));
        channel.Writer.Complete();
        await run.WaitAsync(s_timeout, Ct);
        Assert.Equal(600, Assert.Single(TailStateStore.Load(dir.File("state.json")).Entries.Values).Offset);
        Assert.Equal(6, batcher.SightingsSpooled);
    }
}
