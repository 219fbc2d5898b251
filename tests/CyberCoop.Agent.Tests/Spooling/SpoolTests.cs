using CyberCoop.Agent.Spooling;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Agent.Tests.Spooling;

public sealed class SpoolTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static IngestBatch Batch(byte id, int sightings = 3)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Enumerable.Repeat(id, 16).ToArray()) };
        for (var i = 0; i < sightings; i++)
        {
            batch.Sightings.Add(new Sighting { Type = IndicatorType.Ipv4, Value = $"198.51.100.{i + 1}", Tlp = Tlp.Amber, Confidence = 50, Sensor = "t" });
        }

        return batch;
    }

    private static FileCheckpoint Checkpoint(long offset) => new() { Source = "s", Path = "/x", Device = 1, Inode = 2, Offset = offset, Line = offset / 10 };

    [Fact]
    public async Task Batches_come_out_in_order_and_only_unacknowledged_ones_survive_a_reopen()
    {
        using var dir = new TempDirectory();
        using (var spool = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance))
        {
            for (byte i = 1; i <= 3; i++)
            {
                await spool.AppendAsync(Batch(i), [Checkpoint(i * 100)], Ct);
            }

            spool.Publish();
            var first = await spool.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
            Assert.Equal(Batch(1).BatchId, first.Batch.BatchId);
            spool.Acknowledge(first);
        }

        using var reopened = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance);
        Assert.Equal(2, reopened.UnacknowledgedBatches);
        var second = await reopened.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
        Assert.Equal(Batch(2), second.Batch);
        reopened.Acknowledge(second);
        var third = await reopened.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
        Assert.Equal(Batch(3), third.Batch);
        Assert.Equal(300, Assert.Single(reopened.RecoveredCheckpoints).Offset);
    }

    [Fact]
    public async Task Appended_batches_are_invisible_to_delivery_until_published()
    {
        using var dir = new TempDirectory();
        using var spool = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance);
        await spool.AppendAsync(Batch(1), [], Ct);

        // PeekAsync runs synchronously up to its wait: a visible batch would be returned before the call returns.
        var peek = spool.PeekAsync(Ct).AsTask();
        Assert.False(peek.IsCompleted);

        spool.Publish();
        Assert.Equal(Batch(1), (await peek.WaitAsync(s_timeout, Ct)).Batch);
    }

    [Fact]
    public async Task Torn_record_at_the_end_is_cut_off_and_earlier_batches_kept()
    {
        using var dir = new TempDirectory();
        using (var spool = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance))
        {
            await spool.AppendAsync(Batch(1), [], Ct);
            await spool.AppendAsync(Batch(2), [], Ct);
        }

        var segment = Directory.GetFiles(dir.Path, "*.seg").Single();
        var length = new FileInfo(segment).Length;
        using (var s = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            s.SetLength(length - 7); // crash in the middle of writing batch 2
        }

        using var reopened = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance);

        Assert.Equal(1, reopened.UnacknowledgedBatches);
        var only = await reopened.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
        Assert.Equal(Batch(1), only.Batch);
        Assert.True(new FileInfo(segment).Length < length - 7);
    }

    [Fact]
    public async Task Corrupted_byte_in_a_record_is_detected_by_its_checksum()
    {
        using var dir = new TempDirectory();
        using (var spool = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance))
        {
            await spool.AppendAsync(Batch(1), [], Ct);
            await spool.AppendAsync(Batch(2), [], Ct);
        }

        var segment = Directory.GetFiles(dir.Path, "*.seg").Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(segment, bytes);

        using var reopened = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance);

        Assert.Equal(1, reopened.UnacknowledgedBatches);
    }

    [Fact]
    public async Task Full_spool_makes_the_writer_wait_until_delivery_frees_space()
    {
        using var dir = new TempDirectory();
        var big = Batch(1, sightings: 20_000); // ~ 600 KB
        using var spool = Spool.Open(dir.Path, 1024 * 1024, NullLogger.Instance);
        await spool.AppendAsync(big, [], Ct);
        spool.Publish();

        // AppendAsync decides synchronously: with room it would have written before returning; without, it waits.
        var blocked = spool.AppendAsync(Batch(2, sightings: 20_000), [], Ct).AsTask();
        Assert.False(blocked.IsCompleted);
        Assert.True(spool.IsFull);

        spool.Acknowledge(await spool.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct));
        await blocked.WaitAsync(s_timeout, Ct);
        Assert.False(spool.IsFull);
        Assert.Equal(1, spool.UnacknowledgedBatches);
    }

    [Fact]
    public async Task Segments_roll_over_and_acknowledged_ones_are_deleted()
    {
        using var dir = new TempDirectory();
        using var spool = Spool.Open(dir.Path, 4L * 1024 * 1024, NullLogger.Instance, segmentBytes: 64 * 1024);
        for (byte i = 1; i <= 10; i++)
        {
            await spool.AppendAsync(Batch(i, sightings: 1000), [], Ct); // ~30 KB each
        }

        spool.Publish();
        Assert.True(Directory.GetFiles(dir.Path, "*.seg").Length >= 4);

        for (byte i = 1; i <= 10; i++)
        {
            var record = await spool.PeekAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
            Assert.Equal(i, record.Batch.BatchId[0]);
            spool.Acknowledge(record);
        }

        Assert.Single(Directory.GetFiles(dir.Path, "*.seg"));
        Assert.Equal(0, spool.UnacknowledgedBytes);
    }

    [Fact]
    public void Acknowledging_out_of_order_is_refused()
    {
        using var dir = new TempDirectory();
        using var spool = Spool.Open(dir.Path, 1 << 30, NullLogger.Instance);

        Assert.Throws<InvalidOperationException>(() => spool.Acknowledge(new SpoolRecord(Batch(1), 1, 12345, 100)));
    }
}
