using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using Microsoft.Data.Sqlite;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

public sealed class AuditCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _config;
    private readonly string _database;

    public AuditCommandTests()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        _config = layout.Nodes[0].ConfigPath;
        var loaded = GatewayConfigFile.Load(_config);
        _database = loaded.Resolve(loaded.Config.Node.Storage);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    private async Task WriteEntriesAsync(int count)
    {
        var store = await GatewayStore.OpenAsync(_database, TimeProvider.System, TestContext.Current.CancellationToken);
        await using (store)
        {
            var entries = Enumerable.Range(1, count).Select(i => new AuditEntry
            {
                Kind = i % 2 == 0 ? AuditKinds.Withheld : AuditKinds.Shared,
                Actor = "spiffe://ee.cybercoop/gateway/tallinn",
                Subject = $"indicator-{i}",
                Decision = i % 2 == 0 ? "withheld" : "shared",
                Reason = i % 2 == 0 ? "tlp_ceiling" : "",
                DetailsJson = $$"""{"peer":"spiffe://fi.cybercoop/gateway/helsinki","n":{{i}}}""",
            }).ToList();
            await store.Audit.AppendAsync(entries, TestContext.Current.CancellationToken);
        }

        SqliteConnection.ClearAllPools();
    }

    private async Task CheckpointAsync(SigningKeyPair key)
    {
        var store = await GatewayStore.OpenAsync(_database, TimeProvider.System, TestContext.Current.CancellationToken);
        await using (store)
        {
            await store.Audit.WriteCheckpointAsync(m => ContentSignatures.Sign(SignaturePurpose.AuditCheckpoint, m, key), TestContext.Current.CancellationToken);
        }

        SqliteConnection.ClearAllPools();
    }

    private SigningKeyPair NodeKey(string fileName)
    {
        var loaded = GatewayConfigFile.Load(_config);
        var path = Path.Combine(loaded.Resolve(loaded.Config.Node.KeysDirectory), fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        key.Save(path);
        return key;
    }

    private void Tamper(string sql)
    {
        using (var connection = new SqliteConnection($"Data Source={_database};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            Assert.True(command.ExecuteNonQuery() > 0, $"tampering did nothing: {sql}");
        }

        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task Verify_reports_an_intact_log_with_its_entry_count()
    {
        await WriteEntriesAsync(6);

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("audit log OK: 6 entries", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_checks_checkpoint_signatures_with_the_nodes_current_and_retired_keys()
    {
        using var retired = NodeKey(Path.Combine("retired", "20261101T000000Z-signing-classic.key"));
        using var current = NodeKey("signing-classic.key");
        await WriteEntriesAsync(3);
        await CheckpointAsync(retired);
        await WriteEntriesAsync(2);
        await CheckpointAsync(current);
        await WriteEntriesAsync(1);

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("audit log OK: 8 entries, hash chain intact, 2 checkpoints", result.Output, StringComparison.Ordinal);
        Assert.Contains("signatures verified", result.Output, StringComparison.Ordinal);
        Assert.Contains("1 entries are after the last checkpoint", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_accepts_checkpoints_signed_before_protocol_v2_next_to_v2_ones()
    {
        // A log written before protocol v2 (pure Ed25519 over "cybercoop/v1/audit-checkpoint" || 0x00 || message),
        // continued by the upgraded node with v2 checkpoints under the same key.
        var seed = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var loaded = GatewayConfigFile.Load(_config);
        using var nodeKey = SigningKeyPair.FromEd25519Seed(seed);
        var keysDirectory = loaded.Resolve(loaded.Config.Node.KeysDirectory);
        Directory.CreateDirectory(keysDirectory);
        nodeKey.Save(Path.Combine(keysDirectory, "signing-classic.key"));
        await WriteEntriesAsync(3);
        var store = await GatewayStore.OpenAsync(_database, TimeProvider.System, TestContext.Current.CancellationToken);
        await using (store)
        {
            await store.Audit.WriteCheckpointAsync(m => SignV1(seed, [.. "cybercoop/v1/audit-checkpoint"u8, 0, .. m]), TestContext.Current.CancellationToken);
        }

        SqliteConnection.ClearAllPools();
        await WriteEntriesAsync(2);
        await CheckpointAsync(nodeKey);

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("audit log OK: 7 entries, hash chain intact, 2 checkpoints", result.Output, StringComparison.Ordinal);
        Assert.Contains("signatures verified", result.Output, StringComparison.Ordinal);
    }

    private static byte[] SignV1(byte[] seed, byte[] framed)
    {
        var signature = new byte[64];
        new Org.BouncyCastle.Crypto.Parameters.Ed25519PrivateKeyParameters(seed)
            .Sign(Org.BouncyCastle.Math.EC.Rfc8032.Ed25519.Algorithm.Ed25519, null, framed, signature);
        return signature;
    }

    [Fact]
    public async Task Verify_rejects_a_checkpoint_signed_by_a_key_that_is_not_the_nodes()
    {
        using var node = NodeKey("signing-classic.key");
        using var forger = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        await WriteEntriesAsync(3);
        await CheckpointAsync(forger);

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("checkpoint entry seq 4", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_without_node_keys_says_signatures_were_not_verified()
    {
        using var forger = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        await WriteEntriesAsync(2);
        await CheckpointAsync(forger);

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("NOT verified", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_names_a_modified_entry()
    {
        await WriteEntriesAsync(6);
        Tamper("UPDATE audit SET decision = 'shared', reason = '' WHERE seq = 4");

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("seq 4", result.Error, StringComparison.Ordinal);
        Assert.Contains("modified", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_names_a_deleted_entry()
    {
        await WriteEntriesAsync(6);
        Tamper("DELETE FROM audit WHERE seq = 3");

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("seq 3", result.Error, StringComparison.Ordinal);
        Assert.Contains("deleted", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_names_the_first_of_two_reordered_entries()
    {
        await WriteEntriesAsync(6);
        Tamper("UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -2;");

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("seq 2", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_names_an_inserted_entry()
    {
        await WriteEntriesAsync(6);
        Tamper("""
            UPDATE audit SET seq = -seq WHERE seq >= 4;
            UPDATE audit SET seq = 1 - seq WHERE seq < 0;
            INSERT INTO audit (seq, at, kind, actor, subject, decision, reason, details_json, prev_hash, hash)
              SELECT 4, at, 'shared', actor, 'indicator-forged', 'shared', '', '{}', hash, hash FROM audit WHERE seq = 3;
            """);

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("seq 4", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_without_a_database_says_the_node_has_not_run()
    {
        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("no database", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_database));
    }

    [Fact]
    public async Task Verify_of_a_file_that_is_not_a_database_fails_without_a_stack_trace()
    {
        File.WriteAllText(_database, "this is not SQLite, just text long enough to fill a header page............................");

        var result = await CliRun.RunAsync("audit", "verify", "--config", _config);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains(_database, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tail_prints_the_newest_entries_oldest_first()
    {
        await WriteEntriesAsync(10);

        var result = await CliRun.RunAsync("audit", "tail", "--config", _config, "-n", "3");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Output.TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("8  ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("10  ", lines[2], StringComparison.Ordinal);
        Assert.Contains("tlp_ceiling", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_writes_one_json_object_per_entry_and_refuses_to_overwrite()
    {
        await WriteEntriesAsync(5);
        var target = _temp.Combine("audit.jsonl");

        var result = await CliRun.RunAsync("audit", "export", "--config", _config, "--out", target);
        var again = await CliRun.RunAsync("audit", "export", "--config", _config, "--out", target);

        Assert.Equal(0, result.ExitCode);
        var lines = File.ReadAllLines(target);
        Assert.Equal(5, lines.Length);
        using (var first = JsonDocument.Parse(lines[0]))
        {
            Assert.Equal(1, first.RootElement.GetProperty("seq").GetInt64());
            Assert.Equal(64, first.RootElement.GetProperty("hash").GetString()!.Length);
        }

        Assert.Equal(CliExitCodes.Failure, again.ExitCode);
        Assert.Contains("already exists", again.Error, StringComparison.Ordinal);
        Assert.Equal(5, File.ReadAllLines(target).Length);
    }

    [Fact]
    public async Task Tail_follow_prints_entries_appended_while_it_runs_and_stops_on_cancel()
    {
        await WriteEntriesAsync(2);
        var output = new SyncStringWriter();
        using var cancel = new CancellationTokenSource();
        var tail = CliRun.RunUntilCancelledAsync(output, TextWriter.Null, cancel.Token, "audit", "tail", "--config", _config, "-n", "1", "--follow");
        await WaitForAsync(() => output.Text.Contains("indicator-2", StringComparison.Ordinal));

        await WriteEntriesAsync(3);
        await WaitForAsync(() => output.Text.Split('\n').Any(l => l.StartsWith("5  ", StringComparison.Ordinal)));
        await cancel.CancelAsync();
        var exit = await tail.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(0, exit);
        var lines = output.Text.TrimEnd().Split('\n');
        Assert.Equal(["2", "3", "4", "5"], lines.Select(l => l.Split("  ")[0]));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
