using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Tests.Cli;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>The running node's maintenance destroys retired KEM keys once their grace is over, and audits it.</summary>
public sealed class RetiredKeyPurgeTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    [Fact]
    public async Task Maintenance_destroys_retired_kem_keys_after_the_grace_and_keeps_signing_keys()
    {
        var dev = DevFederationFixture.Create(_temp.Path).Nodes[0];
        var config = GatewayConfigFile.Load(dev.ConfigPath).Config;
        GatewayConfigFile.Save(dev.ConfigPath, config with { Node = config.Node with { KeyRotation = config.Node.KeyRotation with { RetiredGraceSeconds = 600 } } });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var node = await GatewayNode.StartAsync(dev.ConfigPath,
            new GatewayNodeOptions { Time = time, ConfigureLogging = logging => logging.ClearProviders() }, TestContext.Current.CancellationToken);
        var keys = Path.Combine(dev.Directory, "keys");
        var activation = time.GetUtcNow().AddMinutes(15);
        ContentKeyStore.Schedule(keys, time.GetUtcNow(), activation);
        ContentKeyStore.Promote(keys, activation);
        var maintenance = node.Services.GetRequiredService<MaintenanceService>();

        time.SetUtcNow(activation.AddSeconds(600 + 120 - 1));
        await maintenance.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(4, Directory.GetFiles(Path.Combine(keys, "retired")).Length);

        time.SetUtcNow(activation.AddSeconds(600 + 120 + 1));
        await maintenance.RunOnceAsync(TestContext.Current.CancellationToken);

        var left = Directory.GetFiles(Path.Combine(keys, "retired")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, left.Count);
        Assert.All(left, f => Assert.Contains("-signing-", f, StringComparison.Ordinal));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var audited = false;
        while (!audited && DateTime.UtcNow < deadline)
        {
            await foreach (var entry in node.Runtime.Store.Audit.TailAsync(100, TestContext.Current.CancellationToken))
            {
                audited |= entry.Decision == "key-destroyed" && entry.Subject.Contains("-kem-hybrid", StringComparison.Ordinal);
            }

            if (!audited)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        Assert.True(audited, "the destruction is audited");
    }
}
