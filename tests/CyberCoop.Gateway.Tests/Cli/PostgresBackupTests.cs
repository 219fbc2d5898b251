using System.Diagnostics;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Npgsql;
using static CyberCoop.Gateway.Tests.Storage.StoreFixtures;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary><c>backup</c> of a node whose store is in PostgreSQL (pg_dump), and the pg_restore the operator guide describes.</summary>
public sealed class PostgresBackupTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Backup_of_a_postgres_store_restores_into_an_empty_database_with_everything_and_a_verifying_chain()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        var node = DevFederationFixture.Create(_temp.Path).Nodes[0];
        var config = GatewayConfigFile.Load(node.ConfigPath).Config with
        {
            Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = database } },
        };
        var configPath = Path.Combine(Path.GetDirectoryName(node.ConfigPath)!, "gateway-pg.json");
        File.WriteAllText(configPath, GatewayConfigFile.Serialize(config));
        await using (var store = await GatewayStore.OpenPostgresAsync(database, TimeProvider.System, new PostgresStoreOptions(), Ct))
        {
            for (byte b = 1; b <= 3; b++)
            {
                await store.CommitIngestAsync("agent-a", Id(b), Enumerable.Range(b * 100, 100).Select(i => ValidationOutcome.Valid(Ipv4(i))).Append(ValidationOutcome.Rejected("value: bad")).ToList(), Ct);
            }
        }

        var target = Path.Combine(_temp.Path, "pg-backup.dump");
        var result = await CliRun.RunAsync("backup", "--config", configPath, "--out", target);

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith($"backup written: {target} (", result.Output, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
        }

        var restored = await PostgresTestServer.CreateDatabaseAsync(Ct);
        await RestoreAsync(target, restored);
        await using var back = await GatewayStore.OpenPostgresAsync(restored, TimeProvider.System, new PostgresStoreOptions(), Ct);
        Assert.Equal(300L, await back.CountIndicatorsAsync(Ct));
        Assert.Equal(3L, await back.Audit.CountAsync(Ct)); // one rejected sighting audited per batch
        Assert.True((await back.Audit.VerifyAsync(null, Ct)).Ok);
        Assert.True((await back.CommitIngestAsync("agent-a", Id(2), [], Ct)).Duplicate); // idempotency survives the restore
    }

    [Fact]
    public async Task Backup_of_an_unreachable_postgres_store_fails_with_one_line_and_leaves_no_file()
    {
        var node = DevFederationFixture.Create(_temp.Path).Nodes[0];
        var port = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve();
        var config = GatewayConfigFile.Load(node.ConfigPath).Config with
        {
            Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = $"Host=127.0.0.1;Port={port};Database=gone;Username=gw" } },
        };
        var configPath = Path.Combine(Path.GetDirectoryName(node.ConfigPath)!, "gateway-pg.json");
        File.WriteAllText(configPath, GatewayConfigFile.Serialize(config));
        var target = Path.Combine(_temp.Path, "pg-backup.dump");

        var result = await CliRun.RunAsync("backup", "--config", configPath, "--out", target);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: backup failed: pg_dump failed", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(target + ".partial"));
    }

    private static async Task RestoreAsync(string dump, string database)
    {
        var builder = new NpgsqlConnectionStringBuilder(database);
        var start = new ProcessStartInfo(PostgresBackup.FindTool("pg_restore")!) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--no-owner", "--exit-on-error", "-d", builder.Database!, dump })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PGHOST"] = builder.Host;
        start.Environment["PGPORT"] = builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["PGUSER"] = builder.Username;
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        Assert.True(process.ExitCode == 0, error);
    }
}
