using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

using static CyberCoop.Agent.Tests.Delivery.GatewayEndToEndTests;

namespace CyberCoop.Agent.Tests.Spooling;

/// <summary>
/// The agent's spool on a real, small file system (a 2 MiB tmpfs mounted for the test, so the kernel answers ENOSPC) that
/// fills up while the sensor writes: the agent pauses its readers instead of failing, drops nothing, and once space
/// returns every detection reaches the gateway exactly once. Mounting needs root (the CI container runs as root).
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private const int Detections = 6_000;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    private readonly TempDirectory _dir = new();
    private readonly string _mount;
    private readonly DevNode _node;
    private readonly DevAgent _agent;

    public DiskFullTests()
    {
        _mount = Path.Combine(_dir.Path, "small-disk");
        Directory.CreateDirectory(_mount);
        Run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", _mount);
        var layout = DevFederation.Create(Path.Combine(_dir.Path, "fed"), new DevFederationOptions { BasePort = 0 });
        _node = layout.Nodes[0];
        _agent = _node.Agents[0];
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_full_spool_disk_pauses_reading_drops_nothing_and_every_detection_arrives_once_space_returns()
    {
        await using var gateway = await GatewayNode.StartAsync(_node.ConfigPath, new GatewayNodeOptions { ConfigureLogging = b => b.SetMinimumLevel(LogLevel.Error) }, Ct);
        var settings = ConfigureAgent(_agent.ConfigPath, maxItems: 200, lingerMs: 50) with { SpoolDirectory = Path.Combine(_mount, "spool") };

        // Leave about 128 KiB: far less than the spool records of the detections to come.
        var filler = Path.Combine(_mount, "filler");
        FillDisk(filler, leave: 128 * 1024);
        WriteEve(settings, 0, Detections);

        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var runner = new AgentRunner(settings, loggers, TimeProvider.System);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = runner.RunAsync(stop.Token);

        await WaitUntilAsync(() => runner.Spool.DiskFullStalls > 0);
        var storedWhileFull = await gateway.Runtime.Store.CountIndicatorsAsync(Ct);
        Assert.InRange(storedWhileFull, 0, Detections - 1);
        Assert.False(run.IsCompleted, "the agent keeps running on a full disk");

        File.Delete(filler); // space returns
        await WaitUntilAsync(async () => runner.Batcher.SightingsSpooled == Detections && runner.Spool.UnacknowledgedBatches == 0
            && await gateway.Runtime.Store.CountIndicatorsAsync(Ct) == Detections);
        await stop.CancelAsync();
        await run.WaitAsync(s_timeout, Ct);

        await AssertStoredExactlyOnceAsync(gateway, Detections);
    }

    private static void FillDisk(string path, long leave)
    {
        var info = new DriveInfo(Path.GetDirectoryName(path)!);
        var size = Math.Max(0, info.AvailableFreeSpace - leave);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        var chunk = new byte[64 * 1024];
        for (long written = 0; written < size; written += chunk.Length)
        {
            stream.Write(chunk, 0, (int)Math.Min(chunk.Length, size - written));
        }
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {error} — this test mounts a small tmpfs and needs root");
    }

    public void Dispose()
    {
        try
        {
            Run("umount", "-l", _mount);
        }
        finally
        {
            _dir.Dispose();
        }
    }
}
