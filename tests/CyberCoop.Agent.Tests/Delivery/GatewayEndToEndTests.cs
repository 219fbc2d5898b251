using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Tests.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Tests.Delivery;

/// <summary>
/// The agent against a real gateway on loopback (Kestrel, mTLS with certificates made by the
/// operator CLI's dev federation, real SQLite store): nothing lost, nothing stored twice.
/// </summary>
public sealed class GatewayEndToEndTests : IDisposable
{
    private const int Detections = 10_000;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    private readonly TempDirectory _dir = new();
    private readonly DevFederationLayout _layout;
    private readonly DevNode _node;
    private readonly DevAgent _agent;

    public GatewayEndToEndTests()
    {
        _layout = DevFederation.Create(Path.Combine(_dir.Path, "fed"), new DevFederationOptions { BasePort = 0 });
        _node = _layout.Nodes[0];
        _agent = _node.Agents[0];
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Detections_written_while_the_gateway_is_down_all_arrive_exactly_once_when_it_comes_up()
    {
        var settings = ConfigureAgent(_agent.ConfigPath, maxItems: 500, lingerMs: 200);
        WriteEve(settings, 0, Detections);
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var runner = new AgentRunner(settings, loggers, TimeProvider.System);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = runner.RunAsync(stop.Token);

        // Gateway down: everything read ends up in the spool, nothing acknowledged.
        await WaitUntilAsync(() => runner.Batcher.SightingsSpooled == Detections);
        Assert.Equal(0, runner.Delivery.BatchesAcknowledged);
        Assert.True(runner.Spool.UnacknowledgedBatches >= Detections / 500);

        await using var gateway = await StartGatewayAsync();
        await WaitUntilAsync(() => runner.Spool.UnacknowledgedBatches == 0);
        await stop.CancelAsync();
        await run.WaitAsync(s_timeout, Ct);

        await AssertStoredExactlyOnceAsync(gateway, Detections);
        Assert.Equal(Detections, runner.Delivery.SightingsStored);
        Assert.Empty(Directory.GetFiles(settings.SpoolDirectory, "*.rejected"));
    }

    [Fact]
    public async Task Agent_killed_mid_stream_and_restarted_still_stores_every_detection_exactly_once()
    {
        var settings = ConfigureAgent(_agent.ConfigPath, maxItems: 50, lingerMs: 20);
        WriteEve(settings, 0, Detections);
        await using var gateway = await StartGatewayAsync();

        using (var first = Process.Start(AgentProcess.StartInfo("run", "--config", _agent.ConfigPath))!)
        {
            try
            {
                await WaitUntilAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) >= Detections / 5);
            }
            finally
            {
                first.Kill(); // SIGKILL: no shutdown, no flush
                await first.WaitForExitAsync(Ct);
            }
        }

        var afterKill = await gateway.Runtime.Store.CountIndicatorsAsync(Ct);
        Assert.InRange(afterKill, Detections / 5, Detections - 1);

        // Lines appended while the agent is down are picked up too.
        WriteEve(settings, Detections, 1_000);
        using var second = Process.Start(AgentProcess.StartInfo("run", "--config", _agent.ConfigPath))!;
        try
        {
            // Lines re-read after the kill are sent first, so once the new lines are stored any
            // duplicate would already show as a second count on an observation.
            await WaitUntilAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) >= Detections + 1_000);
        }
        finally
        {
            second.Kill();
            await second.WaitForExitAsync(Ct);
        }

        await AssertStoredExactlyOnceAsync(gateway, Detections + 1_000);
    }

    [Fact]
    public async Task Agent_killed_again_and_again_while_the_sensor_keeps_writing_stores_every_sighting_exactly_once()
    {
        // Each line yields two sightings, so a read can end a few sightings past maxItems. The agent used to cut such a
        // read into batches that were sent before the read's offset was saved: killed in that window, it read the lines
        // again on restart and the gateway stored a batch twice.
        var settings = ConfigureAgent(_agent.ConfigPath, maxItems: 50, lingerMs: 20);
        await using var gateway = await StartGatewayAsync();
        var lines = 0;
        using var stopWriting = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        // The sensor writes 1,000 lines a second, but pauses while more than 4,000 sightings are not yet stored: on a
        // loaded machine the backlog, and so the last agent's catch-up below, would otherwise grow with every slow start.
        var writer = Task.Run(async () =>
        {
            while (!stopWriting.IsCancellationRequested)
            {
                if (2 * Volatile.Read(ref lines) - await gateway.Runtime.Store.CountIndicatorsAsync(CancellationToken.None) < 4_000)
                {
                    WriteEvePairs(settings, Volatile.Read(ref lines), 20);
                    Interlocked.Add(ref lines, 20);
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);

        for (var kill = 0; kill < 4; kill++)
        {
            using var agent = Process.Start(AgentProcess.StartInfo("run", "--config", _agent.ConfigPath))!;
            try
            {
                var before = await gateway.Runtime.Store.CountIndicatorsAsync(Ct);
                await WaitUntilAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) >= before + 400);
            }
            finally
            {
                agent.Kill(); // SIGKILL while the sensor writes and batches are in flight
                await agent.WaitForExitAsync(Ct);
            }
        }

        await stopWriting.CancelAsync();
        await writer;
        var expected = 2 * Volatile.Read(ref lines);
        using (var last = Process.Start(AgentProcess.StartInfo("run", "--config", _agent.ConfigPath))!)
        {
            try
            {
                await WaitUntilAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) >= expected);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"{await gateway.Runtime.Store.CountIndicatorsAsync(Ct)} of {expected} sightings stored within {s_timeout}");
            }
            finally
            {
                last.Kill();
                await last.WaitForExitAsync(Ct);
            }
        }

        await AssertStoredExactlyOnceAsync(gateway, expected);
    }

    /// <summary>Appends alert lines whose source and destination are both public: addresses 2i and 2i+1 for line i.</summary>
    private static void WriteEvePairs(AgentSettings settings, int from, int count)
    {
        var path = settings.Sources[0].Path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var sb = new StringBuilder();
        for (var i = from; i < from + count; i++)
        {
            sb.Append("{\"timestamp\":\"2024-05-01T10:00:00.000000+0000\",\"event_type\":\"alert\",\"src_ip\":\"").Append(Address(2 * i))
              .Append("\",\"dest_ip\":\"").Append(Address((2 * i) + 1))
              .Append("\",\"alert\":{\"signature_id\":2000001,\"signature\":\"ET TEST e2e\",\"category\":\"test\",\"severity\":2}}\n");
        }

        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    [Fact]
    public async Task Real_zeek_notice_with_a_context_longer_than_256_characters_is_stored_with_the_context_truncated_and_marked()
    {
        // wrccdc-notice.json holds a real SSL::Invalid_Server_Cert notice whose certificate subject ('sub') has 309
        // characters: the gateway refused that sighting ("context[sub]: value is longer than 256 characters").
        var settings = ConfigureAgent(_agent.ConfigPath, maxItems: 50, lingerMs: 20, format: "zeek", path: "feeds/notice.log");
        Directory.CreateDirectory(Path.GetDirectoryName(settings.Sources[0].Path)!);
        File.Copy(CyberCoop.Testing.TestData.Sample("zeek-json/wrccdc-notice.json"), settings.Sources[0].Path);
        await using var gateway = await StartGatewayAsync();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var runner = new AgentRunner(settings, loggers, TimeProvider.System);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = runner.RunAsync(stop.Token);

        await WaitUntilAsync(() => runner.Batcher.SightingsSpooled > 0 && runner.Spool.UnacknowledgedBatches == 0
            && runner.Delivery.SightingsStored + runner.Delivery.SightingsRejected + runner.Delivery.Duplicates == runner.Batcher.SightingsSpooled);
        await stop.CancelAsync();
        await run.WaitAsync(s_timeout, Ct);

        Assert.Equal(0, runner.Delivery.SightingsRejected);
        Assert.Empty(Directory.GetFiles(settings.SpoolDirectory, "*.rejected"));
        var id = CyberCoop.Gateway.Pipeline.IndicatorIds.Compute(CyberCoop.Contracts.V1.IndicatorType.Ipv4, "104.16.124.44");
        var stored = await gateway.Runtime.Store.GetIndicatorAsync(id, Ct);
        Assert.NotNull(stored);
        var subjects = stored.Observations.Select(o => o.Context.GetValueOrDefault("sub")).Where(v => v is not null).ToList();
        var sub = Assert.Single(subjects, v => v!.StartsWith("CN=beta.gpo.gov,", StringComparison.Ordinal))!;
        Assert.Equal(256, sub.Length);
        Assert.EndsWith("…[truncated from 309 characters]", sub, StringComparison.Ordinal);
        Assert.Contains("Government Publishing Office", sub, StringComparison.Ordinal);
    }

    /// <summary>Sets batching, a 50 ms poll and the first source of an agent.json written by certs dev; returns its settings.</summary>
    internal static AgentSettings ConfigureAgent(string configPath, int maxItems, int lingerMs, string format = "eve", string path = "feeds/eve.json")
    {
        var json = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json["batch"] = new JsonObject { ["maxItems"] = maxItems, ["lingerMilliseconds"] = lingerMs };
        json["pollMilliseconds"] = 50;
        json["sources"]![0]!["format"] = format;
        json["sources"]![0]!["path"] = path;
        File.WriteAllText(configPath, json.ToJsonString());
        return AgentConfigLoader.Load(configPath);
    }

    /// <summary>Appends <paramref name="count"/> EVE alerts, destination <see cref="Address"/>(from..), to the first source.</summary>
    internal static void WriteEve(AgentSettings settings, int from, int count)
    {
        var path = settings.Sources[0].Path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var sb = new StringBuilder();
        for (var i = from; i < from + count; i++)
        {
            sb.Append("{\"timestamp\":\"2024-05-01T10:00:00.000000+0000\",\"event_type\":\"alert\",\"src_ip\":\"10.1.1.1\",\"dest_ip\":\"")
              .Append(Address(i))
              .Append("\",\"alert\":{\"signature_id\":2000001,\"signature\":\"ET TEST e2e\",\"category\":\"test\",\"severity\":2}}\n");
        }

        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    internal static string Address(int i) => $"45.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}";

    private async Task<GatewayNode> StartGatewayAsync() =>
        await GatewayNode.StartAsync(_node.ConfigPath, new GatewayNodeOptions { ConfigureLogging = b => b.SetMinimumLevel(LogLevel.Error) }, Ct);

    /// <summary>The gateway holds exactly the addresses 0..expected, each with one observation of count 1.</summary>
    internal static async Task AssertStoredExactlyOnceAsync(GatewayNode gateway, int expected)
    {
        var store = gateway.Runtime.Store;
        Assert.Equal(expected, await store.CountIndicatorsAsync(Ct));
        var values = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var indicator in store.ReadAllIndicatorsAsync(Ct))
        {
            var observation = Assert.Single(indicator.Observations);
            Assert.Equal(1u, observation.Count);
            values.Add(indicator.Value);
        }

        Assert.Equal(Enumerable.Range(0, expected).Select(Address).ToHashSet(), values);
    }

    internal static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > s_timeout)
            {
                throw new TimeoutException("condition not reached within " + s_timeout);
            }

            await Task.Delay(25, Ct);
        }
    }

    public void Dispose() => _dir.Dispose();
}
