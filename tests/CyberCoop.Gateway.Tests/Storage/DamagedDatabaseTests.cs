using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Cli;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// A real node's database damaged on disk the ways an operator's disk or hand damages it: every command that opens it
/// refuses with one line naming the file and the remedy (exit 1, no stack trace), and the file is left as it was.
/// </summary>
public sealed class DamagedDatabaseTests : IAsyncLifetime
{
    private static readonly string[][] s_commands =
    [
        ["serve", "--config"],
        ["indicators", "export", "--config"],
        ["status", "--config"],
        ["audit", "verify", "--config"],
    ];

    private readonly TempDirectory _temp = new();
    private DevFederationLayout _federation = null!;

    private DevNode Tallinn => _federation.Nodes[0];

    private string Database => Path.Combine(Tallinn.Directory, "gateway.db");

    public async ValueTask InitializeAsync()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
        // A node with history: it ran, took 2,000 indicators from its agent and stopped cleanly.
        var node = await GatewayNode.StartAsync(Tallinn.ConfigPath, new GatewayNodeOptions { ConfigureLogging = l => l.ClearProviders() }, TestContext.Current.CancellationToken);
        await using (node)
        {
            var agent = Tallinn.Agents[0];
            using var channel = AgentClient.Connect(Tallinn.Address, Tallinn.RootCertificate, agent.Certificate, agent.Key);
            using var call = new Contracts.V1.Ingest.IngestClient(channel).Submit(cancellationToken: TestContext.Current.CancellationToken);
            await call.RequestStream.WriteAsync(AgentClient.Domains("damaged", 0, 2000), TestContext.Current.CancellationToken);
            Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
            Assert.All(call.ResponseStream.Current.Items, i => Assert.Equal(ItemOutcome.Accepted, i.Outcome));
            await call.RequestStream.CompleteAsync();
        }

        SqliteConnection.ClearAllPools();
        Assert.True(new FileInfo(Database).Length > 100 * 4096, "the database should span well over 100 pages");
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _temp.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Truncated_database_is_refused_by_every_command_with_one_clear_message()
    {
        using (var file = new FileStream(Database, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(file.Length / 2);
        }

        await AssertEveryCommandRefusesAsync("truncated");
    }

    [Fact]
    public async Task Overwritten_header_is_refused_by_every_command_with_one_clear_message()
    {
        using (var file = new FileStream(Database, FileMode.Open, FileAccess.Write))
        {
            file.Write(RandomNumberGenerator.GetBytes(100));
        }

        await AssertEveryCommandRefusesAsync("SQLite header");
    }

    [Fact]
    public async Task Twenty_random_pages_overwritten_are_found_at_open_and_refused_by_every_command()
    {
        var random = new Random(20261206);
        using (var file = new FileStream(Database, FileMode.Open, FileAccess.Write))
        {
            var pages = (int)(file.Length / 4096);
            foreach (var page in Enumerable.Range(2, pages - 1).OrderBy(_ => random.Next()).Take(20))
            {
                var garbage = new byte[4096];
                random.NextBytes(garbage);
                file.Position = (long)(page - 1) * 4096;
                file.Write(garbage);
            }
        }

        await AssertEveryCommandRefusesAsync("quick_check failed");
    }

    [Fact]
    public async Task Zero_byte_database_is_refused_and_never_started_as_a_new_empty_node()
    {
        using (new FileStream(Database, FileMode.Truncate, FileAccess.Write))
        {
        }

        await AssertEveryCommandRefusesAsync("empty (0 bytes)");
        Assert.Equal(0, new FileInfo(Database).Length);
    }

    [Fact]
    public async Task Database_without_schema_is_refused_and_not_initialised()
    {
        File.Delete(Database);
        using (var connection = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            connection.Open();
            SqliteDatabase.Execute(connection, "CREATE TABLE unrelated (x INTEGER); DROP TABLE unrelated;");
        }

        await AssertEveryCommandRefusesAsync("no CyberCoop schema");
    }

    [Fact]
    public async Task Missing_database_of_a_node_that_ran_is_refused_until_its_history_marker_is_deleted_too()
    {
        File.Delete(Database);
        var marker = Database + ".history";
        Assert.True(File.Exists(marker));

        var serve = await CliRun.RunAsync("serve", "--config", Tallinn.ConfigPath);
        var status = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);

        AssertRefused(serve, "this node has run before");
        AssertRefused(status, "this node has run before");
        Assert.Contains("no gateway is running", status.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Database), "a refused start must not create a database");

        // The operator's explicit choice to start over: the node then starts as a new node with its own schema.
        File.Delete(marker);
        var node = await GatewayNode.StartAsync(Tallinn.ConfigPath, new GatewayNodeOptions { ConfigureLogging = l => l.ClearProviders() }, TestContext.Current.CancellationToken);
        await using (node)
        {
            Assert.Equal(0, await node.Runtime.Store.CountIndicatorsAsync(TestContext.Current.CancellationToken));
        }

        Assert.True(File.Exists(marker));
    }

    [Fact]
    public async Task New_database_is_created_whole_so_its_path_never_holds_a_half_made_file()
    {
        var path = Path.Combine(_temp.Path, "fresh", "gateway.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // A crash during an earlier creation left a temporary file: it is rebuilt, not used.
        var leftover = path + ".new-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await File.WriteAllBytesAsync(leftover, [1, 2, 3], TestContext.Current.CancellationToken);

        var store = await GatewayStore.OpenAsync(path, TimeProvider.System, TestContext.Current.CancellationToken);
        await store.DisposeAsync();

        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(path + ".history"));
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        Assert.Equal(SchemaMigrations.LatestVersion, SchemaMigrations.ReadVersion(connection));
    }

    private async Task AssertEveryCommandRefusesAsync(string problem)
    {
        var before = await File.ReadAllBytesAsync(Database, TestContext.Current.CancellationToken);
        foreach (var command in s_commands)
        {
            var result = await CliRun.RunAsync([.. command, Tallinn.ConfigPath]);

            AssertRefused(result, problem);
            if (command[0] == "status")
            {
                Assert.StartsWith("error: no gateway is running", result.Error, StringComparison.Ordinal);
            }
        }

        Assert.Equal(before, await File.ReadAllBytesAsync(Database, TestContext.Current.CancellationToken));
        Assert.False(File.Exists(Database + "-wal") && new FileInfo(Database + "-wal").Length > 0, "nothing may be written to a damaged database");
    }

    private void AssertRefused(CliResult result, string problem)
    {
        Assert.True(result.ExitCode == 1, result.ToString());
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"the database '{Database}' is damaged", line, StringComparison.Ordinal);
        Assert.Contains(problem, line, StringComparison.Ordinal);
        Assert.Contains("restore the latest backup", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at CyberCoop", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }
}
