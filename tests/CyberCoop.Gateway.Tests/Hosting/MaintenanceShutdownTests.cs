using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Tests.Cli;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>
/// The last audit checkpoint a node signs when it stops: when the stop grace runs out before it is written (a loaded
/// machine), the node still stops, and the log says what happened instead of "retrying at the next interval".
/// </summary>
public sealed class MaintenanceShutdownTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_shutdown_checkpoint_cut_off_by_the_stop_grace_does_not_fail_the_stop_and_is_logged_as_such()
    {
        var dev = DevFederationFixture.Create(_temp.Path).Nodes[0];
        using var logs = new FakeLoggerProvider();
        await using var node = await GatewayNode.StartAsync(dev.ConfigPath,
            new GatewayNodeOptions { ConfigureLogging = logging => logging.ClearProviders().AddProvider(logs) }, TestContext.Current.CancellationToken);
        var maintenance = node.Services.GetRequiredService<MaintenanceService>();
        using var graceOver = new CancellationTokenSource();
        await graceOver.CancelAsync();

        await maintenance.StopAsync(graceOver.Token);

        var records = logs.Collector.GetSnapshot();
        var cutOff = Assert.Single(records, r => r.Id.Id == 1007);
        Assert.Equal(LogLevel.Warning, cutOff.Level);
        Assert.Contains("next start", cutOff.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(records, r => r.Id.Id == 1006);
    }

    [Fact]
    public async Task A_shutdown_with_time_to_spare_signs_a_checkpoint_over_the_head_of_the_log()
    {
        var dev = DevFederationFixture.Create(_temp.Path).Nodes[0];
        await using var node = await GatewayNode.StartAsync(dev.ConfigPath,
            new GatewayNodeOptions { ConfigureLogging = logging => logging.ClearProviders() }, TestContext.Current.CancellationToken);
        var maintenance = node.Services.GetRequiredService<MaintenanceService>();

        var before = await CheckpointsAsync(node);

        await maintenance.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(before + 1, await CheckpointsAsync(node));
    }

    private static async Task<int> CheckpointsAsync(GatewayNode node)
    {
        var count = 0;
        await foreach (var entry in node.Runtime.Store.Audit.TailAsync(10_000, TestContext.Current.CancellationToken))
        {
            count += entry.Kind == CyberCoop.Gateway.Storage.AuditKinds.Checkpoint ? 1 : 0;
        }

        return count;
    }
}
