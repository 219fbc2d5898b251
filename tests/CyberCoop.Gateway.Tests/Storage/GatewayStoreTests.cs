using CyberCoop.Testing;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Microsoft.Extensions.Time.Testing;
using static CyberCoop.Gateway.Tests.Storage.StoreFixtures;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>The store's contract on SQLite (the default engine, a file per test).</summary>
public sealed class SqliteGatewayStoreTests : GatewayStoreTests
{
    private protected override Task<GatewayStore> Open() => GatewayStore.OpenAsync(Dir.File("gateway.db"), Time, Ct);

    [Fact]
    public async Task Database_file_is_readable_by_its_owner_only()
    {
        await using var store = await Open();

        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes only");
        }
        else
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.Path));
        }
    }
}

/// <summary>The same contract on PostgreSQL (a real server, a new database per test).</summary>
public sealed class PostgresGatewayStoreTests : GatewayStoreTests
{
    private string? _database;

    private protected override async Task<GatewayStore> Open()
    {
        _database ??= await PostgresTestServer.CreateDatabaseAsync(Ct);
        return await GatewayStore.OpenPostgresAsync(_database, Time, new PostgresStoreOptions(), Ct);
    }

    [Fact]
    public async Task Two_stores_on_one_database_writing_overlapping_ids_at_once_accept_each_id_once_and_add_up_exactly()
    {
        // Two gateway processes of one nation (active-active): each write reads its ids' stored rows in one statement,
        // so it must see every commit of the other store made before it (the write lock).
        await using var first = await Open();
        await using var second = await Open();

        var commits = await Task.WhenAll(Enumerable.Range(0, 12).Select(b => Task.Run(
            () => (b % 2 == 0 ? first : second).CommitIngestAsync(
                "agent-" + b, Id((byte)b), Enumerable.Range(b * 10, 100).Select(i => ValidationOutcome.Valid(Ipv4(i))).ToList(), Ct), Ct)));

        var results = commits.SelectMany(c => c.Results).ToList();
        Assert.Equal(210, results.Count(r => r.Outcome == ItemOutcome.Accepted)); // ids 0..209, each new once
        Assert.Equal(1200 - 210, results.Count(r => r.Outcome == ItemOutcome.Merged));
        Assert.Equal(210, results.Where(r => r.Outcome == ItemOutcome.Accepted).Select(r => r.IndicatorId).Distinct().Count());
        Assert.Equal(210L, await first.CountIndicatorsAsync(Ct));
        foreach (var i in new[] { 0, 9, 10, 55, 99, 100, 150, 209 })
        {
            var batches = Enumerable.Range(0, 12).Count(b => b * 10 <= i && i < b * 10 + 100);
            Assert.Equal((uint)batches, Assert.Single((await second.GetIndicatorAsync(Ipv4(i).Id, Ct))!.Observations).Count);
        }

        var feed = await first.ReadLocalChangesAsync(0, 1000, Ct);
        Assert.Equal(210, feed.Count);
        Assert.Equal(210, feed.Select(c => c.Seq).Distinct().Count());
    }
}

/// <summary>
/// The store contract: what every engine (SQLite, PostgreSQL) must do the same. Each test runs once per engine
/// (<see cref="SqliteGatewayStoreTests"/>, <see cref="PostgresGatewayStoreTests"/>); <see cref="Open"/> opens the same
/// database again when called again within a test.
/// </summary>
public abstract class GatewayStoreTests : IDisposable
{
    private protected TempDirectory Dir { get; } = new();

    protected FakeTimeProvider Time { get; } = new(Now);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        Dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private protected abstract Task<GatewayStore> Open();

    [Fact]
    public async Task Ingest_reports_accepted_merged_and_rejected_per_item_in_order()
    {
        await using var store = await Open();
        ValidationOutcome[] items = [ValidationOutcome.Valid(Ipv4(1)), ValidationOutcome.Rejected("value: bad"), ValidationOutcome.Valid(Ipv4(1, count: 2)), ValidationOutcome.Valid(Ipv4(2))];

        var commit = await store.CommitIngestAsync("spiffe://ee.cybercoop/agent/a1", Id(1), items, Ct);

        Assert.False(commit.Duplicate);
        Assert.Equal([ItemOutcome.Accepted, ItemOutcome.Rejected, ItemOutcome.Merged, ItemOutcome.Accepted], commit.Results.Select(r => r.Outcome));
        Assert.Equal([0u, 1u, 2u, 3u], commit.Results.Select(r => r.Index));
        Assert.Equal("value: bad", commit.Results[1].Reason);
        Assert.Equal(string.Empty, commit.Results[1].IndicatorId);
        Assert.Equal(Ipv4(1).Id, commit.Results[2].IndicatorId);
        Assert.Equal(2, commit.Changed.Count);
        Assert.Equal(2L, await store.CountIndicatorsAsync(Ct));
        var stored = await store.GetIndicatorAsync(Ipv4(1).Id, Ct);
        Assert.Equal(3u, Assert.Single(stored!.Observations).Count);
    }

    [Fact]
    public async Task Batch_of_new_stored_and_repeated_ids_gets_exact_results_merged_counts_and_one_feed_number_per_id()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent-a", Id(1), [ValidationOutcome.Valid(Ipv4(1, count: 2)), ValidationOutcome.Valid(Ipv4(2))], Ct);
        ValidationOutcome[] items =
        [
            ValidationOutcome.Valid(Ipv4(3)), // new
            ValidationOutcome.Valid(Ipv4(1, count: 3)), // stored
            ValidationOutcome.Rejected("value: bad"),
            ValidationOutcome.Valid(Ipv4(3, count: 4)), // new, again in this batch
            ValidationOutcome.Valid(Ipv4(2, sensor: "agent-1/other")), // stored, another sensor
            ValidationOutcome.Valid(Ipv4(4)), // new
            ValidationOutcome.Valid(Ipv4(1)), // stored, again in this batch
        ];

        var commit = await store.CommitIngestAsync("agent-a", Id(2), items, Ct);

        Assert.Equal(
            [ItemOutcome.Accepted, ItemOutcome.Merged, ItemOutcome.Rejected, ItemOutcome.Merged, ItemOutcome.Merged, ItemOutcome.Accepted, ItemOutcome.Merged],
            commit.Results.Select(r => r.Outcome));
        Assert.Equal([Ipv4(3).Id, Ipv4(1).Id, "", Ipv4(3).Id, Ipv4(2).Id, Ipv4(4).Id, Ipv4(1).Id], commit.Results.Select(r => r.IndicatorId));
        Assert.Equal([Ipv4(3).Id, Ipv4(1).Id, Ipv4(2).Id, Ipv4(4).Id], commit.Changed.Select(i => i.Id)); // first appearance order
        Assert.Equal(4L, await store.CountIndicatorsAsync(Ct));
        Assert.Equal(6u, Assert.Single((await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!.Observations).Count);
        Assert.Equal(2, (await store.GetIndicatorAsync(Ipv4(2).Id, Ct))!.Observations.Count);
        Assert.Equal(5u, Assert.Single((await store.GetIndicatorAsync(Ipv4(3).Id, Ct))!.Observations).Count);
        Assert.Equal(1u, Assert.Single((await store.GetIndicatorAsync(Ipv4(4).Id, Ct))!.Observations).Count);
        // The change feed: each id of a batch takes the next number at its first appearance (stored ones move to it).
        var feed = await store.ReadLocalChangesAsync(0, 100, Ct);
        Assert.Equal([3L, 4L, 5L, 6L], feed.Select(c => c.Seq));
        Assert.Equal([Ipv4(3).Id, Ipv4(1).Id, Ipv4(2).Id, Ipv4(4).Id], feed.Select(c => c.Indicator.Id));
        Assert.Equal(6u, feed[1].Indicator.Observations[0].Count);
    }

    [Fact]
    public async Task Envelope_with_stored_and_repeated_ids_merges_each_once_and_leaves_the_feed_as_it_was()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent-a", Id(1), [ValidationOutcome.Valid(Ipv4(1, count: 2))], Ct);
        var peerOne = Ipv4(1, count: 7, tlp: Tlp.Amber);
        peerOne.Observations[0].Node = "spiffe://lv.cybercoop/gateway/riga";

        var commit = await store.CommitReceivedAsync(Envelope(1, 1, Ipv4(5, count: 2), peerOne, Ipv4(5, count: 3), Ipv4(6)), Ct);

        Assert.Equal([Ipv4(5).Id, Ipv4(1).Id, Ipv4(6).Id], commit.Changed.Select(i => i.Id));
        Assert.Equal(3L, await store.CountIndicatorsAsync(Ct));
        Assert.Equal(3u, Assert.Single((await store.GetIndicatorAsync(Ipv4(5).Id, Ct))!.Observations).Count); // latest state, not a sum
        var merged = (await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!;
        Assert.Equal(Tlp.Amber, merged.Tlp);
        Assert.Equal([2u, 7u], merged.Observations.Select(o => o.Count).Order());
        // The own view and the change feed still hold the own sighting alone, with its number.
        Assert.Equal(Ipv4(1, count: 2), await store.GetOwnViewAsync(Ipv4(1).Id, Ct));
        var feed = Assert.Single(await store.ReadLocalChangesAsync(0, 100, Ct));
        Assert.Equal(1L, feed.Seq);
        Assert.Equal(Ipv4(1, count: 2), feed.Indicator);

        await store.CommitIngestAsync("agent-a", Id(2), [ValidationOutcome.Valid(Ipv4(5)), ValidationOutcome.Valid(Ipv4(1))], Ct);

        Assert.Equal(Ipv4(5), await store.GetOwnViewAsync(Ipv4(5).Id, Ct)); // the first own sighting of a received indicator
        Assert.Equal(3u, Assert.Single((await store.GetOwnViewAsync(Ipv4(1).Id, Ct))!.Observations).Count);
        Assert.Equal([(2L, Ipv4(5).Id), (3L, Ipv4(1).Id)], (await store.ReadLocalChangesAsync(1, 100, Ct)).Select(c => (c.Seq, c.Indicator.Id)));
    }

    [Fact]
    public async Task Concurrent_batches_of_the_same_ids_add_up_exactly()
    {
        await using var store = await Open();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(
            () => store.CommitIngestAsync("agent-" + w, Id((byte)w), Enumerable.Range(0, 100).Select(i => ValidationOutcome.Valid(Ipv4(i, count: (uint)w + 1))).ToList(), Ct), Ct)));

        Assert.Equal(100L, await store.CountIndicatorsAsync(Ct));
        for (var i = 0; i < 100; i += 33)
        {
            Assert.Equal(36u, Assert.Single((await store.GetIndicatorAsync(Ipv4(i).Id, Ct))!.Observations).Count); // 1 + 2 + ... + 8
        }

        var feed = await store.ReadLocalChangesAsync(0, 1000, Ct);
        Assert.Equal(100, feed.Count);
        Assert.Equal(feed.Count, feed.Select(c => c.Seq).Distinct().Count());
    }

    [Fact]
    public async Task Resent_batch_is_answered_from_the_first_commit_and_stored_once()
    {
        await using var store = await Open();
        ValidationOutcome[] items = [ValidationOutcome.Valid(Ipv4(1, count: 5)), ValidationOutcome.Rejected("tlp: unknown TLP value 9")];
        var first = await store.CommitIngestAsync("agent-a", Id(7), items, Ct);

        var again = await store.CommitIngestAsync("agent-a", Id(7), items, Ct);

        Assert.True(again.Duplicate);
        Assert.Equal(first.Results, again.Results);
        Assert.Empty(again.Changed);
        Assert.Equal(5u, (await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!.Observations[0].Count);
        Assert.Equal(1L, await store.Audit.CountAsync(Ct)); // the rejection is audited once
    }

    [Fact]
    public async Task Same_batch_id_from_another_agent_is_a_different_batch()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent-a", Id(7), [ValidationOutcome.Valid(Ipv4(1))], Ct);

        var other = await store.CommitIngestAsync("agent-b", Id(7), [ValidationOutcome.Valid(Ipv4(1))], Ct);

        Assert.False(other.Duplicate);
        Assert.Equal(ItemOutcome.Merged, other.Results[0].Outcome);
    }

    [Fact]
    public async Task Merge_in_store_never_lowers_tlp()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent-a", Id(1), [ValidationOutcome.Valid(Ipv4(1, Tlp.Red))], Ct);

        await store.CommitIngestAsync("agent-a", Id(2), [ValidationOutcome.Valid(Ipv4(1, Tlp.Clear, sensor: "agent-1/other"))], Ct);

        var stored = await store.GetIndicatorAsync(Ipv4(1).Id, Ct);
        Assert.Equal(Tlp.Red, stored!.Tlp);
        Assert.Equal(2, stored.Observations.Count);
    }

    [Fact]
    public async Task Bad_arguments_are_refused_with_the_argument_named()
    {
        await using var store = await Open();

        await Assert.ThrowsAsync<ArgumentException>(() => store.CommitIngestAsync("", Id(1), [], Ct));
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => store.CommitIngestAsync("a", ReadOnlyMemory<byte>.Empty, [], Ct));
        Assert.Equal("batchId", empty.ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => store.CommitIngestAsync("a", new byte[65], [], Ct));
        await Assert.ThrowsAsync<ArgumentNullException>(() => store.CommitIngestAsync("a", Id(1), null!, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.CommitIngestAsync("a", Id(1), [null!], Ct));
        Assert.Throws<ArgumentException>(() => ValidationOutcome.Rejected(""));
    }

    [Fact]
    public async Task Failed_batch_rolls_back_completely()
    {
        await using var store = await Open();

        await Assert.ThrowsAsync<ArgumentException>(() => store.CommitIngestAsync("a", Id(1), [ValidationOutcome.Valid(Ipv4(1)), null!], Ct));

        Assert.Equal(0L, await store.CountIndicatorsAsync(Ct));
        var retry = await store.CommitIngestAsync("a", Id(1), [ValidationOutcome.Valid(Ipv4(1))], Ct);
        Assert.False(retry.Duplicate);
    }

    private static ReceivedEnvelope Envelope(byte envelope, byte bundle, params Indicator[] accepted) => new()
    {
        EnvelopeId = Id(envelope),
        BundleId = Id(bundle),
        Sender = "spiffe://lv.cybercoop/gateway/riga",
        Origin = "spiffe://lv.cybercoop/gateway/riga",
        Accepted = accepted,
        Audit = [new AuditEntry { Kind = AuditKinds.Received, Actor = "spiffe://lv.cybercoop/gateway/riga", Subject = "envelope", Decision = "accepted" }],
    };

    [Fact]
    public async Task Envelope_is_committed_exactly_once()
    {
        await using var store = await Open();
        var envelope = Envelope(1, 1, Ipv4(1, count: 4));

        var first = await store.CommitReceivedAsync(envelope, Ct);
        var second = await store.CommitReceivedAsync(envelope, Ct);

        Assert.False(first.Duplicate);
        Assert.Single(first.Changed);
        Assert.True(second.Duplicate);
        Assert.Empty(second.Changed);
        Assert.True(await store.HasSeenEnvelopeAsync(Id(1), Ct));
        Assert.False(await store.HasSeenEnvelopeAsync(Id(2), Ct));
        Assert.Equal(4u, (await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!.Observations[0].Count);
        Assert.Equal(1L, await store.Audit.CountAsync(Ct));
    }

    [Fact]
    public async Task The_replay_store_remembers_which_bundle_each_envelope_id_carried()
    {
        await using var store = await Open();
        await store.CommitReceivedAsync(Envelope(1, 9, Ipv4(1, count: 4)), Ct);

        var seen = await store.FindSeenEnvelopeAsync(Id(1), Ct);
        var reusedId = await store.CommitReceivedAsync(Envelope(1, 8, Ipv4(2)), Ct);
        var twin = await store.CommitReceivedAsync(Envelope(1, 9, Ipv4(1, count: 4)), Ct);

        Assert.NotNull(seen);
        Assert.True(seen.Carries("spiffe://lv.cybercoop/gateway/riga", Id(9)));
        Assert.False(seen.Carries("spiffe://lv.cybercoop/gateway/riga", Id(8)));
        Assert.False(seen.Carries("spiffe://ee.cybercoop/gateway/tallinn", Id(9)));
        Assert.Null(await store.FindSeenEnvelopeAsync(Id(2), Ct));
        Assert.True(reusedId.Duplicate);
        Assert.True(reusedId.EnvelopeIdReused, "another bundle under a committed envelope id is not a duplicate");
        Assert.Null(await store.GetIndicatorAsync(Ipv4(2).Id, Ct));
        Assert.True(twin.Duplicate);
        Assert.False(twin.EnvelopeIdReused);
    }

    [Fact]
    public async Task Same_bundle_arriving_by_a_second_route_is_not_merged_again()
    {
        await using var store = await Open();
        await store.CommitReceivedAsync(Envelope(1, 9, Ipv4(1, count: 4)), Ct);

        var loop = await store.CommitReceivedAsync(Envelope(2, 9, Ipv4(1, count: 4)), Ct);

        Assert.False(loop.Duplicate);
        Assert.True(loop.BundleAlreadySeen);
        Assert.Empty(loop.Changed);
        Assert.True(await store.HasSeenEnvelopeAsync(Id(2), Ct));
        var last = await store.Audit.TailAsync(1, Ct).SingleAsync(Ct);
        Assert.Equal("bundle-already-seen", last.Reason);
    }

    [Fact]
    public async Task Updated_state_from_a_peer_replaces_counts_instead_of_adding()
    {
        await using var store = await Open();
        await store.CommitReceivedAsync(Envelope(1, 1, Ipv4(1, count: 4)), Ct);

        await store.CommitReceivedAsync(Envelope(2, 2, Ipv4(1, count: 6)), Ct);

        Assert.Equal(6u, (await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!.Observations[0].Count);
    }

    [Fact]
    public async Task Quarantined_indicators_are_kept_apart()
    {
        await using var store = await Open();
        var envelope = Envelope(1, 1) with { Quarantined = [new QuarantinedIndicator(Ipv4(5), "quarantined")] };

        var commit = await store.CommitReceivedAsync(envelope, Ct);

        Assert.Equal(1, commit.QuarantinedCount);
        Assert.Equal(1L, await store.CountQuarantinedAsync(Ct));
        Assert.Null(await store.GetIndicatorAsync(Ipv4(5).Id, Ct));
    }

    [Fact]
    public async Task Purge_forgets_old_envelope_ids_only()
    {
        await using var store = await Open();
        await store.CommitReceivedAsync(Envelope(1, 1), Ct);
        Time.Advance(TimeSpan.FromHours(2));
        await store.CommitReceivedAsync(Envelope(2, 2), Ct);

        var removed = await store.PurgeSeenEnvelopesAsync(Now.AddHours(1), Ct);

        Assert.Equal(1, removed);
        Assert.False(await store.HasSeenEnvelopeAsync(Id(1), Ct));
        Assert.True(await store.HasSeenEnvelopeAsync(Id(2), Ct));
    }

    [Fact]
    public async Task Outbox_is_read_in_order_per_peer_and_deleted_on_ack()
    {
        await using var store = await Open();
        await store.EnqueueOutboxAsync(
        [
            new OutboxItem("peer-b", Id(1), [1], 10, Now),
            new OutboxItem("peer-c", Id(2), [2], 20, Now),
            new OutboxItem("peer-b", Id(3), [3], 30, Now.AddSeconds(1)),
            new OutboxItem("peer-b", Id(4), [4], 40, Now.AddSeconds(2)),
        ], Ct);

        var firstTwo = await store.ReadOutboxAsync("peer-b", 0, 2, Ct);
        var rest = await store.ReadOutboxAsync("peer-b", firstTwo[^1].Seq, 10, Ct);

        Assert.Equal([1, 3], firstTwo.Select(e => (int)e.EnvelopeBytes[0]));
        Assert.Equal([4], rest.Select(e => (int)e.EnvelopeBytes[0]));
        Assert.True(firstTwo[0].Seq < firstTwo[1].Seq);
        Assert.Equal(new OutboxStats(3, 80, Now), await store.GetOutboxStatsAsync("peer-b", Ct));

        Assert.True(await store.DeleteOutboxAsync("peer-b", Id(1), Ct));
        Assert.False(await store.DeleteOutboxAsync("peer-b", Id(1), Ct));
        Assert.False(await store.DeleteOutboxAsync("peer-b", Id(2), Ct)); // peer-c's envelope is not peer-b's to ack
        Assert.Equal(new OutboxStats(2, 70, Now.AddSeconds(1)), await store.GetOutboxStatsAsync("peer-b", Ct));
        Assert.Equal(new OutboxStats(0, 0, null), await store.GetOutboxStatsAsync("peer-x", Ct));
    }

    [Fact]
    public async Task Outbox_sequence_numbers_are_never_reused_after_delete()
    {
        await using var store = await Open();
        await store.EnqueueOutboxAsync([new OutboxItem("p", Id(1), [1], 1, Now)], Ct);
        var first = (await store.ReadOutboxAsync("p", 0, 1, Ct))[0].Seq;
        await store.DeleteOutboxAsync("p", Id(1), Ct);

        await store.EnqueueOutboxAsync([new OutboxItem("p", Id(2), [2], 1, Now)], Ct);

        Assert.True((await store.ReadOutboxAsync("p", 0, 1, Ct))[0].Seq > first);
    }

    [Fact]
    public async Task Duplicate_envelope_id_for_a_peer_is_refused_and_nothing_of_the_batch_is_enqueued()
    {
        await using var store = await Open();
        await store.EnqueueOutboxAsync([new OutboxItem("p", Id(1), [1], 1, Now)], Ct);

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => store.EnqueueOutboxAsync([new OutboxItem("p", Id(2), [2], 1, Now), new OutboxItem("p", Id(1), [1], 1, Now)], Ct));

        Assert.Equal(1, (await store.GetOutboxStatsAsync("p", Ct)).Depth);
    }

    [Fact]
    public async Task Embargoed_items_are_returned_once_when_due()
    {
        await using var store = await Open();
        await store.ScheduleEmbargoedAsync("peer-b", "id-1", Now.AddHours(1), Ct);
        await store.ScheduleEmbargoedAsync("peer-b", "id-2", Now.AddHours(3), Ct);
        await store.ScheduleEmbargoedAsync("peer-c", "id-1", Now.AddMinutes(30), Ct);

        var due = await store.TakeDueEmbargoedAsync(Now.AddHours(2), Ct);
        var again = await store.TakeDueEmbargoedAsync(Now.AddHours(2), Ct);

        Assert.Equal([new EmbargoedItem("peer-c", "id-1"), new EmbargoedItem("peer-b", "id-1")], due);
        Assert.Empty(again);
        Assert.Equal([new EmbargoedItem("peer-b", "id-2")], await store.TakeDueEmbargoedAsync(Now.AddHours(3), Ct));
    }

    [Fact]
    public async Task Data_survives_dispose_and_reopen()
    {
        await using (var store = await Open())
        {
            await store.CommitIngestAsync("a", Id(1), [ValidationOutcome.Valid(Ipv4(1)), ValidationOutcome.Valid(Ipv4(2))], Ct);
            await store.EnqueueOutboxAsync([new OutboxItem("p", Id(1), [1, 2, 3], 2, Now)], Ct);
        }

        await using var reopened = await Open();

        Assert.Equal(2L, await reopened.CountIndicatorsAsync(Ct));
        Assert.True((await reopened.CommitIngestAsync("a", Id(1), [], Ct)).Duplicate);
        Assert.Equal([1, 2, 3], (await reopened.ReadOutboxAsync("p", 0, 10, Ct))[0].EnvelopeBytes);
        var all = await reopened.ReadAllIndicatorsAsync(Ct).ToListAsync(Ct);
        Assert.Equal(new[] { Ipv4(1).Id, Ipv4(2).Id }.Order(StringComparer.Ordinal), all.Select(i => i.Id));
        Assert.True((await reopened.Audit.VerifyAsync(null, Ct)).Ok);
    }

    [Fact]
    public async Task Concurrent_writers_all_commit()
    {
        await using var store = await Open();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(
            () => store.CommitIngestAsync("agent-" + w, Id((byte)w), Enumerable.Range(w * 100, 100).Select(i => ValidationOutcome.Valid(Ipv4(i))).ToList(), Ct), Ct)));

        Assert.Equal(800L, await store.CountIndicatorsAsync(Ct));
    }

    [Fact]
    public async Task Readers_see_only_committed_batches_while_a_writer_runs()
    {
        await using var store = await Open();
        var writer = Task.Run(async () =>
        {
            for (var b = 0; b < 20; b++)
            {
                await store.CommitIngestAsync("a", Id((byte)(b + 1)), Enumerable.Range(b * 50, 50).Select(i => ValidationOutcome.Valid(Ipv4(i))).ToList(), Ct);
            }
        }, Ct);

        var observed = new List<long>();
        while (!writer.IsCompleted)
        {
            observed.Add(await store.CountIndicatorsAsync(Ct));
        }

        await writer;
        Assert.All(observed, count => Assert.Equal(0, count % 50)); // never half a batch
        Assert.Equal(1000L, await store.CountIndicatorsAsync(Ct));
    }

    [Fact]
    public async Task Cancelled_commit_stores_nothing()
    {
        await using var store = await Open();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CommitIngestAsync("a", Id(1), [ValidationOutcome.Valid(Ipv4(1))], cancelled.Token));

        Assert.Equal(0L, await store.CountIndicatorsAsync(Ct));
        Assert.False((await store.CommitIngestAsync("a", Id(1), [ValidationOutcome.Valid(Ipv4(1))], Ct)).Duplicate);
    }

    [Fact]
    public async Task Use_after_dispose_fails_clearly()
    {
        var store = await Open();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountIndicatorsAsync(Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CommitIngestAsync("a", Id(1), [], Ct));
        await store.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task Audit_search_finds_an_entry_older_than_the_newest_ten_thousand_and_pages_through_the_whole_log()
    {
        await using var store = await Open();
        await store.Audit.AppendAsync([new AuditEntry { Kind = AuditKinds.Admin, Actor = "console:spiffe://ee.cybercoop/operator/alice", Subject = "console withdraw x", Decision = "applied", Reason = "100%_old reason" }], Ct);
        for (var batch = 0; batch < 11; batch++)
        {
            await store.Audit.AppendAsync([.. Enumerable.Range(0, 1000).Select(i => new AuditEntry
            {
                Kind = i % 2 == 0 ? AuditKinds.Shared : AuditKinds.Withheld, Actor = "node", Subject = $"indicator-{batch}-{i}", Decision = "x", Reason = "100 old reason",
            })], Ct);
        }

        var text = await store.Audit.SearchAsync(new AuditQuery { Text = "100%_OLD" }, Ct);
        var kind = await store.Audit.SearchAsync(new AuditQuery { Kind = AuditKinds.Admin }, Ct);
        var newest = await store.Audit.SearchAsync(new AuditQuery { Kind = AuditKinds.Withheld, Limit = 3 }, Ct);
        var older = await store.Audit.SearchAsync(new AuditQuery { Kind = AuditKinds.Withheld, Limit = 3, BeforeSeq = newest[^1].Seq }, Ct);
        var newer = await store.Audit.SearchAsync(new AuditQuery { Kind = AuditKinds.Withheld, Limit = 3, AfterSeq = older[^1].Seq }, Ct);

        Assert.Equal(11_001L, await store.Audit.CountAsync(Ct));
        Assert.Equal(1L, Assert.Single(text).Seq); // LIKE wildcards in the text are literal; ASCII case is ignored
        Assert.Equal("console:spiffe://ee.cybercoop/operator/alice", Assert.Single(kind).Actor);
        Assert.Equal([11_001L, 10_999L, 10_997L], newest.Select(e => e.Seq));
        Assert.Equal([10_995L, 10_993L, 10_991L], older.Select(e => e.Seq));
        Assert.Equal([10_995L, 10_993L], newer.Select(e => e.Seq).TakeLast(2));
        Assert.Equal(10_997L, newer[0].Seq);
        Assert.Empty(await store.Audit.SearchAsync(new AuditQuery { Kind = AuditKinds.Admin, BeforeSeq = 1 }, Ct));
    }

    [Fact]
    public async Task Indicator_value_prefix_search_returns_matches_in_value_order_up_to_the_limit()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent-a", Id(1), [.. Enumerable.Range(1, 300).Select(i => ValidationOutcome.Valid(Ipv4(i)))], Ct);

        var prefix = await store.SearchIndicatorsByValueAsync("10.0.1.", 100, Ct);
        var limited = await store.SearchIndicatorsByValueAsync("10.0.", 5, Ct);
        var none = await store.SearchIndicatorsByValueAsync("10.0.9", 100, Ct);

        Assert.Equal(45, prefix.Count); // 10.0.1.0 .. 10.0.1.44 (256 .. 300)
        Assert.All(prefix, i => Assert.StartsWith("10.0.1.", i.Value, StringComparison.Ordinal));
        Assert.Equal(prefix.Select(i => i.Value).Order(StringComparer.Ordinal), prefix.Select(i => i.Value));
        Assert.Equal(["10.0.0.1", "10.0.0.10", "10.0.0.100", "10.0.0.101", "10.0.0.102"], limited.Select(i => i.Value));
        Assert.Empty(none);
    }
    [Fact]
    public async Task Deliveries_are_recorded_by_row_id_and_read_back_by_indicator_id_whatever_row_ids_the_writer_passed()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent-a", Id(1), [ValidationOutcome.Valid(Ipv4(1)), ValidationOutcome.Valid(Ipv4(2))], Ct);
        var changes = await store.ReadLocalChangesAsync(0, 10, Ct);
        string[] ids = [.. changes.Select(c => c.Indicator.Id)];
        long[] rowIds = [.. changes.Select(c => c.RowId)];

        // Row ids from the change feed, none at all (embargoes released), and a row id that names the other indicator.
        await store.CommitDispatchAsync("p1", changes[^1].Seq, [new OutboxItem("p1", Id(11), [1], 2, Now, Origin: Node, IndicatorIds: ids, IndicatorRowIds: rowIds)], [], [], [], 0, Ct);
        await store.CommitDispatchAsync("p2", changes[^1].Seq, [new OutboxItem("p2", Id(12), [1], 2, Now, Origin: Node, IndicatorIds: ids)], [], [], [], 0, Ct);
        await store.CommitDispatchAsync("p3", changes[^1].Seq, [new OutboxItem("p3", Id(13), [1], 1, Now, Origin: Node, IndicatorIds: [ids[0]], IndicatorRowIds: [rowIds[1]])], [], [], [], 0, Ct);
        // Shared again (a changed indicator): recorded once.
        await store.CommitDispatchAsync("p1", changes[^1].Seq, [new OutboxItem("p1", Id(14), [1], 2, Now, Origin: Node, IndicatorIds: ids, IndicatorRowIds: rowIds)], [], [], [], 0, Ct);

        Assert.Equal(2, ids.Distinct().Count());
        Assert.Equal(["p1", "p2", "p3"], await store.ReadDeliveredPeersAsync(ids[0], Node, Ct));
        Assert.Equal(["p1", "p2"], await store.ReadDeliveredPeersAsync(ids[1], Node, Ct));
        Assert.Empty(await store.ReadDeliveredPeersAsync(ids[0], "spiffe://lv.cybercoop/gateway/riga", Ct));
        Assert.Empty(await store.ReadDeliveredPeersAsync(Ipv4(3).Id, Node, Ct));
    }

    [Fact]
    public async Task Deliveries_end_with_their_expired_indicator_and_a_stale_row_id_never_names_the_next_indicator()
    {
        await using var store = await Open();
        var expiring = Ipv4(1);
        expiring.ValidUntil = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Now.AddDays(1));
        await store.CommitIngestAsync("agent-a", Id(1), [ValidationOutcome.Valid(expiring)], Ct);
        var change = Assert.Single(await store.ReadLocalChangesAsync(0, 10, Ct));
        await store.CommitDispatchAsync("p1", change.Seq, [new OutboxItem("p1", Id(11), [1], 1, Now, Origin: Node, IndicatorIds: [expiring.Id], IndicatorRowIds: [change.RowId])], [], [], [], 0, Ct);
        Assert.Equal(["p1"], await store.ReadDeliveredPeersAsync(expiring.Id, Node, Ct));

        // Pruned after its retention, its paths with it; a new indicator then takes the next row id (on SQLite the
        // pruned row's id, which was the largest). A dispatch planned before the pruning commits afterwards with the
        // stale row id: it names neither indicator.
        Time.SetUtcNow(Now.AddDays(40));
        Assert.Equal([expiring.Id], await store.PruneExpiredAsync(Now.AddDays(10), Ct));
        await store.CommitIngestAsync("agent-a", Id(2), [ValidationOutcome.Valid(Ipv4(2))], Ct);
        await store.CommitDispatchAsync("p2", change.Seq, [new OutboxItem("p2", Id(12), [1], 1, Now, Origin: Node, IndicatorIds: [expiring.Id], IndicatorRowIds: [change.RowId])], [], [], [], 0, Ct);

        Assert.Empty(await store.ReadDeliveredPeersAsync(expiring.Id, Node, Ct));
        Assert.Empty(await store.ReadDeliveredPeersAsync(Ipv4(2).Id, Node, Ct));

        // Seen again after the pruning: a new row without the old paths.
        await store.CommitIngestAsync("agent-a", Id(3), [ValidationOutcome.Valid(Ipv4(1))], Ct);
        Assert.Empty(await store.ReadDeliveredPeersAsync(expiring.Id, Node, Ct));
    }

    [Fact]
    public async Task Relayed_bundle_records_its_deliveries_under_its_origin_and_a_received_withdrawal_follows_them()
    {
        await using var store = await Open();
        const string origin = "spiffe://fi.cybercoop/gateway/helsinki";
        const string next = "spiffe://ee.cybercoop/gateway/tallinn";
        var relayed = Envelope(1, 1, Ipv4(1), Ipv4(2)) with
        {
            Origin = origin,
            Relays = [new OutboxItem(next, Id(21), [1], 2, Now, 1, Origin: origin, IndicatorIds: [Ipv4(1).Id, Ipv4(2).Id])],
        };

        await store.CommitReceivedAsync(relayed, Ct);

        Assert.Equal([next], await store.ReadDeliveredPeersAsync(Ipv4(2).Id, origin, Ct));
        Assert.Empty(await store.ReadDeliveredPeersAsync(Ipv4(2).Id, relayed.Sender, Ct));
        var withdrawal = new WithdrawalRecord(origin, Ipv4(2).Id, Id(30), "false-positive", Now, Now, relayed.Sender);
        var (result, relayedTo) = await store.CommitReceivedWithdrawalAsync(Id(31), withdrawal,
            peer => new OutboxItem(peer, Id(32), [1], 0, Now, 2, PayloadKind.Withdrawal), [], Ct);
        Assert.Equal(WithdrawalCommit.Applied, result);
        Assert.Equal([next], relayedTo);
    }
}
