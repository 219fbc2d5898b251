using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Load.Faults;
using Microsoft.Extensions.Logging;

using static CyberCoop.Agent.Tests.Delivery.GatewayEndToEndTests;

namespace CyberCoop.Agent.Tests.Delivery;

/// <summary>
/// The agent delivering to a real gateway (mTLS on loopback, real SQLite) through a fault-injecting TCP proxy while the
/// sensor keeps writing: every detection written is stored exactly once, and delivery resumes after the fault ends.
/// </summary>
public sealed class NetworkFaultTests : IDisposable
{
    private const int LinesPerWrite = 100;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan s_faultDuration = TimeSpan.FromSeconds(3);

    private static readonly Dictionary<string, Fault> s_faults = new(StringComparer.Ordinal)
    {
        ["reset at a random byte, both ways"] = Fault.Reset(16 * 1024),
        ["black hole towards the agent (acks lost)"] = Fault.BlackHole(FaultDirection.ServerToClient),
        ["black hole towards the gateway"] = Fault.BlackHole(FaultDirection.ClientToServer),
        ["partition"] = Fault.Partition(),
        ["latency 300±200ms"] = Fault.Latency(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(200)),
    };

    private readonly TempDirectory _dir = new();
    private readonly DevNode _node;
    private readonly DevAgent _agent;

    public NetworkFaultTests()
    {
        var layout = DevFederation.Create(Path.Combine(_dir.Path, "fed"), new DevFederationOptions { BasePort = 0 });
        _node = layout.Nodes[0];
        _agent = _node.Agents[0];
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Faults() => [.. s_faults.Keys];

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Detections_written_during_a_link_fault_are_all_stored_exactly_once_after_it(string name)
    {
        await using var gateway = await GatewayNode.StartAsync(_node.ConfigPath, new GatewayNodeOptions { ConfigureLogging = b => b.SetMinimumLevel(LogLevel.Error) }, Ct);
        await using var proxy = FaultProxy.Start(gateway.Port);
        var settings = ConfigureAgent(_agent.ConfigPath, maxItems: 100, lingerMs: 50) with
        {
            GatewayAddress = new Uri(proxy.Address),
            KeepaliveInterval = TimeSpan.FromSeconds(1),
            KeepaliveTimeout = TimeSpan.FromSeconds(1),
        };
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var runner = new AgentRunner(settings, loggers, TimeProvider.System);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = runner.RunAsync(stop.Token);

        // The sensor writes steadily before, during and after the fault.
        var written = 0;
        using var stopWriting = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stopWriting.IsCancellationRequested)
            {
                WriteEve(settings, written, LinesPerWrite);
                written += LinesPerWrite;
                await Task.Delay(50, CancellationToken.None);
            }
        }, CancellationToken.None);
        await WaitUntilAsync(() => runner.Delivery.BatchesAcknowledged >= 3);
        await proxy.ApplyForAsync(s_faults[name], s_faultDuration, Ct);
        var lifted = Stopwatch.StartNew();
        var ackedAtLift = runner.Delivery.BatchesAcknowledged;
        await WaitUntilAsync(() => runner.Delivery.BatchesAcknowledged >= ackedAtLift + 3);
        await stopWriting.CancelAsync();
        await writer;

        await WaitUntilAsync(async () => runner.Batcher.SightingsSpooled == written && runner.Spool.UnacknowledgedBatches == 0
            && await gateway.Runtime.Store.CountIndicatorsAsync(Ct) == written);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{name}: {written} detections, all stored {lifted.Elapsed.TotalSeconds:F1} s after the fault ended; proxy: {proxy.ConnectionsAccepted} connections, {proxy.ConnectionsReset} reset, {proxy.BytesDropped} bytes dropped");
        await stop.CancelAsync();
        await run.WaitAsync(s_timeout, Ct);

        await AssertStoredExactlyOnceAsync(gateway, written);
    }

    public void Dispose() => _dir.Dispose();
}
