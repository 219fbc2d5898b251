using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary><c>backup</c> against a real node that keeps ingesting, and the restore the operator guide describes.</summary>
public sealed class BackupCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private DevFederationLayout _federation = null!;

    private DevNode Tallinn => _federation.Nodes[0];

    private string Database => Path.Combine(Tallinn.Directory, "gateway.db");

    public ValueTask InitializeAsync()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _temp.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Backup_taken_while_the_gateway_ingests_restores_to_a_node_that_verifies()
    {
        var ct = TestContext.Current.CancellationToken;
        var backup = Path.Combine(_temp.Path, "tallinn-backup.db");
        long ackedBeforeBackup, ackedTotal;
        CliResult result;
        var node = await StartAsync();
        await using (node)
        {
            var agent = Tallinn.Agents[0];
            using var channel = AgentClient.Connect(Tallinn.Address, Tallinn.RootCertificate, agent.Certificate, agent.Key);
            using var call = new Contracts.V1.Ingest.IngestClient(channel).Submit(cancellationToken: ct);
            long acked = 0;
            var next = 0;
            async Task SendAsync()
            {
                await call.RequestStream.WriteAsync(AgentClient.Domains("backup", next, 200), ct);
                next += 200;
                Assert.True(await call.ResponseStream.MoveNext(ct));
                Assert.All(call.ResponseStream.Current.Items, i => Assert.Equal(ItemOutcome.Accepted, i.Outcome));
                Interlocked.Add(ref acked, 200);
            }

            for (var i = 0; i < 10; i++)
            {
                await SendAsync();
            }

            // The agent keeps streaming while the backup runs, and after it.
            using var stop = new CancellationTokenSource();
            var ingesting = Task.Run(
                async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await SendAsync();
                    }
                },
                ct);
            ackedBeforeBackup = Interlocked.Read(ref acked);
            result = await CliRun.RunAsync("backup", "--config", Tallinn.ConfigPath, "--out", backup);
            var atBackupEnd = Interlocked.Read(ref acked);
            await WaitUntilAsync(() => Interlocked.Read(ref acked) >= atBackupEnd + 1000);
            await stop.CancelAsync();
            await ingesting;
            await call.RequestStream.CompleteAsync();
            ackedTotal = Interlocked.Read(ref acked);
        }

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"backup written: {backup}", result.Output, StringComparison.Ordinal);
        Assert.Contains("integrity_check OK", result.Output, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(backup));
        Assert.False(File.Exists(backup + "-wal"), "a backup is one self-contained file");

        // Restore as the guide says: node stopped, the damaged/old file and its -wal/-shm moved aside, the backup copied in.
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            if (File.Exists(Database + suffix))
            {
                File.Move(Database + suffix, Database + suffix + ".old");
            }
        }

        File.Copy(backup, Database);
        var verify = await CliRun.RunAsync("audit", "verify", "--config", Tallinn.ConfigPath);
        var export = await CliRun.RunAsync("indicators", "export", "--config", Tallinn.ConfigPath);

        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("database OK", verify.Output, StringComparison.Ordinal);
        Assert.Contains("audit log OK", verify.Output, StringComparison.Ordinal);
        Assert.True(export.ExitCode == 0, export.ToString());
        var restored = export.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        // Consistent as of one commit during the backup: every batch acked before it started, whole batches only.
        Assert.InRange(restored, ackedBeforeBackup, ackedTotal - 800);
        Assert.Equal(0, restored % 200);
        Assert.Contains($"{restored:N0} indicators", result.Output, StringComparison.Ordinal);

        // The restored node starts, serves and takes new sightings.
        var again = await StartAsync();
        await using (again)
        {
            var agent = Tallinn.Agents[0];
            Assert.Equal(ItemOutcome.Accepted, await AgentClient.IngestAsync(Tallinn.Address, Tallinn.RootCertificate, agent.Certificate, agent.Key, "after-restore.example"));
            Assert.Equal(restored + 1, await again.Runtime.Store.CountIndicatorsAsync(ct));
        }
    }

    [Fact]
    public async Task Backup_refuses_to_overwrite_an_existing_file()
    {
        var node = await StartAsync();
        await node.DisposeAsync();
        var target = Path.Combine(_temp.Path, "exists.db");
        await File.WriteAllTextAsync(target, "keep me", TestContext.Current.CancellationToken);

        var result = await CliRun.RunAsync("backup", "--config", Tallinn.ConfigPath, "--out", target);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("already exists; refusing to overwrite it", result.Error, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(target, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Backup_of_a_damaged_database_is_refused_and_leaves_no_file()
    {
        var node = await StartAsync();
        await node.DisposeAsync();
        SqliteConnection.ClearAllPools();
        using (var file = new FileStream(Database, FileMode.Open, FileAccess.Write))
        {
            file.Write(new byte[100]);
        }

        var target = Path.Combine(_temp.Path, "from-damaged.db");
        var result = await CliRun.RunAsync("backup", "--config", Tallinn.ConfigPath, "--out", target);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"the database '{Database}' is damaged", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(target + ".partial"));
    }

    [Fact]
    public async Task Backup_of_a_node_that_never_ran_says_so()
    {
        var result = await CliRun.RunAsync("backup", "--config", Tallinn.ConfigPath, "--out", Path.Combine(_temp.Path, "none.db"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("has this node run yet?", result.Error, StringComparison.Ordinal);
    }

    private Task<GatewayNode> StartAsync() =>
        GatewayNode.StartAsync(Tallinn.ConfigPath, new GatewayNodeOptions { ConfigureLogging = l => l.ClearProviders() }, TestContext.Current.CancellationToken);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
