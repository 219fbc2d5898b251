using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using static CyberCoop.Gateway.Tests.Storage.StoreFixtures;

namespace CyberCoop.Gateway.Tests.Storage;

public sealed class AuditLogTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Now);
    private readonly ECDsa _nodeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string DbPath => _dir.File("audit.db");

    public void Dispose()
    {
        _nodeKey.Dispose();
        _dir.Dispose();
    }

    private byte[] Sign(byte[] message) => _nodeKey.SignData(message, HashAlgorithmName.SHA256);

    private bool Verify(byte[] message, byte[] signature) => _nodeKey.VerifyData(message, signature, HashAlgorithmName.SHA256);

    private static AuditEntry Entry(int i) => new()
    {
        Kind = i % 2 == 0 ? AuditKinds.Shared : AuditKinds.Withheld,
        Actor = "node",
        Subject = "indicator-" + i,
        Decision = i % 2 == 0 ? "shared" : "withheld",
        Reason = i % 2 == 0 ? "shared" : "tlp-above-ceiling",
        DetailsJson = "{\"peer\":\"spiffe://lv.cybercoop/gateway/riga\"}",
    };

    /// <summary>A store with entries 1-10, closed again so the test can edit the file.</summary>
    private async Task SeedAsync(bool checkpoint = false)
    {
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);
        await store.Audit.AppendAsync([.. Enumerable.Range(1, 5).Select(Entry)], Ct);
        if (checkpoint)
        {
            await store.Audit.WriteCheckpointAsync(Sign, Ct); // seq 6
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        await store.Audit.AppendAsync([.. Enumerable.Range(6, checkpoint ? 4 : 5).Select(Entry)], Ct);
    }

    private void Tamper(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private async Task<AuditVerifyResult> VerifyAsync()
    {
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);
        return await store.Audit.VerifyAsync(Verify, Ct);
    }

    [Fact]
    public async Task Untouched_log_verifies()
    {
        await SeedAsync(checkpoint: true);

        var result = await VerifyAsync();

        Assert.True(result.Ok, result.Problem);
        Assert.Equal(10, result.EntriesChecked);
        Assert.Equal(1, result.CheckpointsVerified);
        Assert.True(result.SignaturesChecked);
        Assert.Equal(4, result.UncheckpointedEntries);
        Assert.Null(result.FirstBadSeq);
    }

    [Fact]
    public async Task Entries_are_chained_from_a_zero_genesis_hash()
    {
        await SeedAsync();
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);

        var entries = await store.Audit.TailAsync(100, Ct).ToListAsync(Ct);

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), entries.Select(e => e.Seq));
        Assert.Equal(new byte[32], entries[0].PrevHash.ToArray());
        for (var i = 1; i < entries.Count; i++)
        {
            Assert.Equal(entries[i - 1].Hash.ToArray(), entries[i].PrevHash.ToArray());
        }

        Assert.Equal(Now, entries[0].At);
        Assert.Equal("tlp-above-ceiling", entries[0].Reason);
    }

    [Fact]
    public async Task Modified_entry_is_detected_and_named()
    {
        await SeedAsync();
        Tamper("UPDATE audit SET decision = 'shared', reason = 'shared' WHERE seq = 5");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(5, result.FirstBadSeq);
        Assert.Contains("modified", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Modified_timestamp_is_detected()
    {
        await SeedAsync();
        Tamper("UPDATE audit SET at = at + 1 WHERE seq = 2");

        Assert.Equal(2, (await VerifyAsync()).FirstBadSeq);
    }

    [Fact]
    public async Task Deleted_entry_is_detected_and_named()
    {
        await SeedAsync();
        Tamper("DELETE FROM audit WHERE seq = 4");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(4, result.FirstBadSeq);
        Assert.Contains("missing (deleted)", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleted_first_entry_is_detected()
    {
        await SeedAsync();
        Tamper("DELETE FROM audit WHERE seq = 1");

        Assert.Equal(1, (await VerifyAsync()).FirstBadSeq);
    }

    [Fact]
    public async Task Swapped_entries_are_detected_at_the_first_moved_seq()
    {
        await SeedAsync();
        Tamper("UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 7; UPDATE audit SET seq = 7 WHERE seq = -1;");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(3, result.FirstBadSeq);
        Assert.Contains("prev_hash", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renumbered_rows_to_make_room_for_an_insert_are_detected()
    {
        await SeedAsync();
        Tamper("UPDATE audit SET seq = seq + 100 WHERE seq >= 6; UPDATE audit SET seq = seq - 99 WHERE seq >= 106;");
        Tamper("INSERT INTO audit SELECT 6, at, kind, actor, 'forged', decision, reason, details_json, prev_hash, hash FROM audit WHERE seq = 5");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(6, result.FirstBadSeq);
    }

    [Fact]
    public async Task Forged_row_appended_at_the_end_is_detected()
    {
        await SeedAsync();
        Tamper("INSERT INTO audit (seq, at, kind, actor, subject, decision, reason, details_json, prev_hash, hash) " +
               "SELECT 11, at, 'shared', 'node', 'indicator-x', 'shared', 'shared', '{}', hash, randomblob(32) FROM audit WHERE seq = 10");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(11, result.FirstBadSeq);
    }

    [Fact]
    public async Task Chain_rewritten_before_a_checkpoint_fails_the_checkpoint()
    {
        // An attacker who knows the hash algorithm recomputes the chain after editing entry 2;
        // only the node's signature on the checkpoint reveals it.
        await SeedAsync(checkpoint: true);
        RewriteChainFrom(2, subject: "rewritten");

        var result = await VerifyAsync();

        Assert.False(result.Ok);
        Assert.Equal(6, result.FirstBadSeq);
        Assert.Contains("checkpoint", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkpoint_with_a_signature_from_another_key_fails()
    {
        await SeedAsync(checkpoint: true);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);

        var result = await store.Audit.VerifyAsync((m, s) => otherKey.VerifyData(m, s, HashAlgorithmName.SHA256), Ct);

        Assert.False(result.Ok);
        Assert.Equal(6, result.FirstBadSeq);
        Assert.Contains("signature does not verify", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkpoint_covers_the_head_and_its_signature_verifies()
    {
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);
        await store.Audit.AppendAsync([Entry(1), Entry(2)], Ct);

        var checkpoint = await store.Audit.WriteCheckpointAsync(Sign, Ct);

        Assert.Equal(2, checkpoint.CoveredSeq);
        Assert.Equal(3, checkpoint.EntrySeq);
        Assert.True(Verify(AuditHasher.CheckpointMessage(2, checkpoint.CoveredHash), checkpoint.Signature));
        var head = await store.Audit.TailAsync(2, Ct).ToListAsync(Ct);
        Assert.Equal(head[0].Hash.ToArray(), checkpoint.CoveredHash);
        Assert.Equal(AuditKinds.Checkpoint, head[1].Kind);
    }

    [Fact]
    public async Task Export_writes_one_json_object_per_entry()
    {
        await SeedAsync();
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);
        using var output = new MemoryStream();

        await store.Audit.ExportAsync(output, Ct);

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(1, first.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal("withheld", first.RootElement.GetProperty("kind").GetString());
        Assert.Equal(64, first.RootElement.GetProperty("hash").GetString()!.Length);
    }

    [Fact]
    public async Task Decisions_commit_with_the_data_they_are_about()
    {
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);

        await store.CommitIngestAsync("agent-a", Id(1), [ValidationOutcome.Rejected("value: 'x' is not a valid IPv4 address")], Ct);

        var entry = await store.Audit.TailAsync(1, Ct).SingleAsync(Ct);
        Assert.Equal(AuditKinds.IngestRejected, entry.Kind);
        Assert.Equal("agent-a", entry.Actor);
        Assert.Contains("#0", entry.Subject, StringComparison.Ordinal);
        Assert.True((await store.Audit.VerifyAsync(null, Ct)).Ok);
    }

    [Fact]
    public async Task Unknown_kind_and_null_fields_are_refused()
    {
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);

        await Assert.ThrowsAsync<ArgumentException>(() => store.Audit.AppendAsync([Entry(1) with { Kind = "whatever" }], Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.Audit.AppendAsync([Entry(1) with { Reason = null! }], Ct));
        await Assert.ThrowsAsync<ArgumentNullException>(() => store.Audit.AppendAsync(null!, Ct));
        Assert.Equal(0L, await store.Audit.CountAsync(Ct));
    }

    [Fact]
    public void Entry_hash_follows_the_documented_canonical_encoding()
    {
        // SHA-256("cybercoop/v1/audit-entry\0" || seq BE64 || at BE64 || len-prefixed fields || len-prefixed prev_hash),
        // computed independently with Python's hashlib.
        var hash = AuditHasher.HashEntry(7, 1700000000123, "shared", "node", "indicator-1", "shared", string.Empty, "{}", new byte[32]);

        Assert.Equal("5b28f9168a7ada445404a4fb237336bfd33d08c640275ece3a9b107bcecca34c", Convert.ToHexStringLower(hash));
    }

    [Fact]
    public async Task Empty_log_verifies()
    {
        await using var store = await GatewayStore.OpenAsync(DbPath, _time, Ct);

        var result = await store.Audit.VerifyAsync(Verify, Ct);

        Assert.True(result.Ok);
        Assert.Equal(0, result.EntriesChecked);
    }

    private void RewriteChainFrom(long fromSeq, string subject)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        connection.Open();
        var rows = new List<(long Seq, long At, string Kind, string Actor, string Subject, string Decision, string Reason, string Details)>();
        using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT seq, at, kind, actor, subject, decision, reason, details_json FROM audit ORDER BY seq";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7)));
            }
        }

        var prev = new byte[32];
        foreach (var row in rows)
        {
            var rowSubject = row.Seq == fromSeq ? subject : row.Subject;
            var hash = AuditHasher.HashEntry(row.Seq, row.At, row.Kind, row.Actor, rowSubject, row.Decision, row.Reason, row.Details, prev);
            using var update = connection.CreateCommand();
            update.CommandText = "UPDATE audit SET subject = $s, prev_hash = $p, hash = $h WHERE seq = $seq";
            update.Parameters.AddWithValue("$s", rowSubject);
            update.Parameters.AddWithValue("$p", prev);
            update.Parameters.AddWithValue("$h", hash);
            update.Parameters.AddWithValue("$seq", row.Seq);
            update.ExecuteNonQuery();
            prev = hash;
        }
    }
}
