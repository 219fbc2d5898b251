using CyberCoop.Gateway.Storage;
using Microsoft.Data.Sqlite;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// The audit sink for decisions taken outside a storage transaction (refused callers, first contact, rate limits) never
/// drops an entry while the node runs: a burst larger than any queue bound is written whole, a database that refuses
/// the write (another process holding the write lock) delays the entries instead of losing them.
/// </summary>
public sealed class AuditSinkTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee");
        await _f.StartAsync("ee");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_burst_of_25000_refusals_is_written_to_the_audit_chain_entry_for_entry()
    {
        var runtime = _f["ee"].Node!.Runtime;
        var before = await runtime.Store.Audit.CountAsync(CancellationToken.None);

        // The old sink held 10,000 and dropped the rest of a burst.
        for (var i = 0; i < 25_000; i++)
        {
            runtime.AuditLater(Denial(i));
        }

        await WaitUntilAsync(() => Task.FromResult(runtime.AuditPending == 0), "the audit queue drained", TimeSpan.FromSeconds(120));
        Assert.Equal(before + 25_000, await runtime.Store.Audit.CountAsync(CancellationToken.None));
        Assert.Equal(0, runtime.AuditDropped);
        var verified = await runtime.Store.Audit.VerifyAsync(null, CancellationToken.None);
        Assert.True(verified.Ok, verified.Problem);

        // One writer appends in queue order: the flood's entries stand in the chain in the order they were made.
        var flood = new List<string>();
        await foreach (var entry in runtime.Store.Audit.TailAsync(25_000 + 1_000, CancellationToken.None))
        {
            if (entry.Actor.StartsWith(FloodActor, StringComparison.Ordinal))
            {
                flood.Add(entry.Actor);
            }
        }

        Assert.Equal(Enumerable.Range(0, 25_000).Select(i => FloodActor + i), flood);
    }

    [Fact]
    public async Task Entries_queued_while_another_process_holds_the_database_write_lock_are_written_once_it_lets_go()
    {
        var runtime = _f["ee"].Node!.Runtime;
        var before = await runtime.Store.Audit.CountAsync(CancellationToken.None);
        var path = Path.Combine(_f["ee"].Directory, _f["ee"].Config.Node.Storage);
        await using (var intruder = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await intruder.OpenAsync();
            await using var hold = intruder.CreateCommand();
            hold.CommandText = "BEGIN IMMEDIATE";
            await hold.ExecuteNonQueryAsync();

            for (var i = 0; i < 100; i++)
            {
                runtime.AuditLater(Denial(i));
            }

            // The node's writer gives up after its 10 s busy timeout; past that the first attempt has failed.
            await Task.Delay(TimeSpan.FromSeconds(12), TestContext.Current.CancellationToken);
            Assert.Equal(100, runtime.AuditPending);
            hold.CommandText = "ROLLBACK";
            await hold.ExecuteNonQueryAsync();
        }

        await WaitUntilAsync(() => Task.FromResult(runtime.AuditPending == 0), "the audit queue drained after the lock was released", TimeSpan.FromSeconds(60));
        Assert.Equal(before + 100, await runtime.Store.Audit.CountAsync(CancellationToken.None));
        Assert.Equal(0, runtime.AuditDropped);
    }

    [Fact]
    public async Task An_entry_that_could_never_be_written_is_refused_where_it_is_made_and_nothing_is_queued()
    {
        var runtime = _f["ee"].Node!.Runtime;
        var before = await runtime.Store.Audit.CountAsync(CancellationToken.None);

        var error = Assert.Throws<ArgumentException>(() => runtime.AuditLater(new AuditEntry { Kind = "no-such-kind", Actor = "a", Subject = "s", Decision = "d", Reason = "r" }));

        Assert.Contains("unknown kind 'no-such-kind'", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, runtime.AuditPending);
        runtime.AuditLater(Denial(0));
        await WaitUntilAsync(() => Task.FromResult(runtime.AuditPending == 0), "the valid entry was written");
        Assert.Equal(before + 1, await runtime.Store.Audit.CountAsync(CancellationToken.None));
    }

    private const string FloodActor = "spiffe://xx.example/agent/flood-";

    private static AuditEntry Denial(int i) => new()
    {
        Kind = AuditKinds.Denied,
        Actor = FloodActor + i,
        Subject = "tls",
        Decision = "denied",
        Reason = "certificate is not issued by a pinned root",
    };
}
