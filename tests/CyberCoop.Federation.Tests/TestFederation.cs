using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Trust;
using CyberCoop.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Federation.Tests;

/// <summary>One nation of a test federation: its material on disk (<see cref="NationMaterial"/>), clock and running node.</summary>
internal sealed class TestNation(string root, string code) : NationMaterial(root, code, code + ".cybercoop")
{
    public TimeProvider Time { get; set; } = TimeProvider.System;
    public GatewayNode? Node { get; set; }
}

/// <summary>The system clock shifted by an adjustable offset (a node whose clock is wrong).</summary>
internal sealed class OffsetTimeProvider : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}

/// <summary>
/// A federation of real gateways on loopback for tests: a root CA per nation, real certificates and
/// keys on disk, real config files, real SQLite databases, each node a real Kestrel server.
/// </summary>
internal sealed class TestFederation : IAsyncDisposable
{
    private readonly List<GrpcChannel> _channels = [];

    private TestFederation(string root) => Root = root;

    public string Root { get; }

    public Dictionary<string, TestNation> Nations { get; } = new(StringComparer.Ordinal);

    public TestNation this[string code] => Nations[code];

    /// <summary>Creates nations (e.g. "ee", "fi", "lv") with roots, gateway and agent certificates.</summary>
    public static TestFederation Create(params string[] codes)
    {
        var root = Path.Combine(Path.GetTempPath(), "cybercoop-tests", Guid.NewGuid().ToString("n"));
        System.IO.Directory.CreateDirectory(root);
        var federation = new TestFederation(root);
        foreach (var code in codes)
        {
            var nation = new TestNation(root, code);
            nation.EditNode(n => n with { Bundle = new BundleConfig { MaxIndicators = 1000, LingerMilliseconds = 20 } });
            nation.EditNode(n => n with { TrustBundleRefreshSeconds = 300 });
            federation.Nations[code] = nation;
        }

        return federation;
    }

    /// <summary>Makes <paramref name="to"/> a peer of <paramref name="from"/> with the given policies.</summary>
    public void Peer(string from, string to, OutboundPolicyConfig? outbound = null, InboundPolicyConfig? inbound = null, string? suite = null) =>
        this[from].AddPeer(this[to], outbound, inbound, suite);

    /// <summary>Peers two nations both ways with the same policies.</summary>
    public void PeerBoth(string a, string b, OutboundPolicyConfig? outbound = null, InboundPolicyConfig? inbound = null)
    {
        Peer(a, b, outbound, inbound);
        Peer(b, a, outbound, inbound);
    }

    /// <summary>Lets <paramref name="at"/> verify content that originates in <paramref name="origin"/> and arrives by relay.</summary>
    public void TrustOrigin(string at, string origin) => this[at].TrustOrigin(this[origin]);

    /// <summary>Writes every config file.</summary>
    public void WriteConfigs()
    {
        foreach (var nation in Nations.Values)
        {
            nation.WriteConfig();
        }
    }

    /// <summary>Writes configs and starts the named nodes (all when none named).</summary>
    public async Task StartAsync(params string[] codes)
    {
        WriteConfigs();
        foreach (var code in codes.Length == 0 ? Nations.Keys.ToArray() : codes)
        {
            var nation = this[code];
            nation.Node = await GatewayNode.StartAsync(nation.ConfigPath, new GatewayNodeOptions
            {
                Time = nation.Time,
                ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
            });
        }
    }

    /// <summary>Stops one node gracefully.</summary>
    public async Task StopAsync(string code)
    {
        var nation = this[code];
        if (nation.Node is { } node)
        {
            nation.Node = null;
            await node.DisposeAsync();
        }
    }

    /// <summary>An Ingest client of <paramref name="code"/>'s agent (or the given certificate).</summary>
    public Ingest.IngestClient IngestClient(string code, X509Certificate2? clientCertificate = null, bool multipleConnections = false) =>
        new(Channel(this[code], clientCertificate ?? LoadCertificate(code, "agent"), multipleConnections));

    /// <summary>A Federation client calling <paramref name="target"/> with the given certificate.</summary>
    public Contracts.V1.Federation.FederationClient FederationClient(string target, X509Certificate2 clientCertificate) =>
        new(Channel(this[target], clientCertificate));

    /// <summary>An IndicatorAdmin client calling <paramref name="target"/> over mTLS on its TCP port (which must refuse it).</summary>
    public IndicatorAdmin.IndicatorAdminClient IndicatorAdminOverTcp(string target, X509Certificate2 clientCertificate) =>
        new(Channel(this[target], clientCertificate));

    /// <summary>Loads one of a nation's certificates with its key ("gateway" or "agent").</summary>
    public X509Certificate2 LoadCertificate(string code, string which) => this[code].Certificate(which);

    /// <summary>Issues another agent certificate of <paramref name="code"/>'s domain and returns it with its key.</summary>
    public X509Certificate2 IssueAgent(string code, string name) => this[code].IssueAgent(name);

    /// <summary>Waits until the SQLite database of <paramref name="code"/>'s node (run as a process) holds at least <paramref name="expected"/> indicators.</summary>
    public async Task WaitForStoredCountAsync(string code, int expected, TimeSpan timeout, Func<string> diagnostics)
    {
        var storage = Path.Combine(this[code].Directory, "gateway.db");
        var deadline = DateTime.UtcNow + timeout;
        long count = -1;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(storage))
            {
                await using var store = await Gateway.Storage.GatewayStore.OpenAsync(storage, TimeProvider.System, CancellationToken.None);
                count = await store.CountIndicatorsAsync(CancellationToken.None);
                if (count >= expected)
                {
                    return;
                }
            }

            await Task.Delay(250);
        }

        Assert.Fail($"{code} holds {count} of {expected} indicators after {timeout}:\n{diagnostics()}");
    }

    /// <summary>An Ingest client of <paramref name="code"/>'s agent to one process of that nation listening on <paramref name="port"/>.</summary>
    public Ingest.IngestClient IngestClientAt(string code, int port) =>
        new(Channel(this[code], LoadCertificate(code, "agent"), address: $"https://127.0.0.1:{port}"));

    private GrpcChannel Channel(TestNation target, X509Certificate2 clientCertificate, bool multipleConnections = false, string? address = null)
    {
        var channel = target.OpenChannel(clientCertificate, multipleConnections, address);
        _channels.Add(channel);
        return channel;
    }

    /// <summary>A sighting as an agent would send it.</summary>
    public static Sighting Sighting(IndicatorType type, string value, Tlp tlp = Tlp.Amber, uint confidence = 80, params string[] tags)
    {
        var sighting = new Sighting
        {
            Type = type,
            Value = value,
            Tlp = tlp,
            Confidence = confidence,
            ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-5)),
            Sensor = "suricata-dmz",
            Count = 1,
        };
        sighting.Tags.Add(tags);
        sighting.Context["signature"] = "ET MALWARE test";
        sighting.Context["internal_host"] = "scada-hmi-07.internal";
        return sighting;
    }

    /// <summary>Sends one batch through Ingest and returns the result.</summary>
    public async Task<IngestResult> IngestAsync(string code, params Sighting[] sightings)
    {
        using var call = IngestClient(code).Submit();
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
        batch.Sightings.Add(sightings);
        await call.RequestStream.WriteAsync(batch);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }

    /// <summary>
    /// Sends <paramref name="batches"/> one after another on one Ingest stream of <paramref name="code"/>'s agent, each
    /// answered before the next; asserts every item accepted and returns the indicator ids.
    /// </summary>
    public async Task<HashSet<string>> IngestAcceptedAsync(string code, IEnumerable<IngestBatch> batches, TimeSpan? deadline = null)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using var call = IngestClient(code).Submit(deadline: deadline is { } d ? DateTime.UtcNow + d : null);
        foreach (var batch in batches)
        {
            await call.RequestStream.WriteAsync(batch);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            foreach (var item in call.ResponseStream.Current.Items)
            {
                Assert.Equal(ItemOutcome.Accepted, item.Outcome);
                ids.Add(item.IndicatorId);
            }
        }

        await call.RequestStream.CompleteAsync();
        return ids;
    }

    /// <summary>Runs the real <c>status</c> CLI (with <c>--json</c> when <paramref name="json"/>) against <paramref name="code"/>'s admin socket.</summary>
    public async Task<(int Exit, string Output, string Error)> StatusAsync(string code, bool json)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] args = json ? ["status", "--json", "--config", this[code].ConfigPath] : ["status", "--config", this[code].ConfigPath];
        var exit = await Gateway.Cli.CliInvocation.InvokeAsync(Gateway.Cli.GatewayCommandLine.Build(), args,
            new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>
    /// Submits batches of 500 new indicators (batch ids and values from <paramref name="prefix"/>) on one Ingest stream of
    /// <paramref name="code"/>'s agent until the gateway refuses one, or <paramref name="maxBatches"/> were taken; every
    /// answered item must be accepted. Returns the acknowledged ids and the refusal (null when none came).
    /// </summary>
    public async Task<(HashSet<string> Acknowledged, RpcException? Refusal)> IngestUntilRefusedAsync(string code, string prefix, int maxBatches = 1_000)
    {
        var acknowledged = new HashSet<string>(StringComparer.Ordinal);
        // Its own connection, closed when it returns, as an agent run would: a caller may hold only
        // node.limits.callerMaxConnections connections at once, and tests call this in loops.
        using var certificate = LoadCertificate(code, "agent");
        using var channel = this[code].OpenChannel(certificate);
        using var call = new Ingest.IngestClient(channel).Submit();
        try
        {
            for (var b = 0; b < maxBatches; b++)
            {
                await call.RequestStream.WriteAsync(StorageBatch(prefix, b));
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                foreach (var item in call.ResponseStream.Current.Items)
                {
                    Assert.Equal(ItemOutcome.Accepted, item.Outcome);
                    acknowledged.Add(item.IndicatorId);
                }
            }

            await call.RequestStream.CompleteAsync();
            return (acknowledged, null);
        }
        catch (RpcException ex)
        {
            return (acknowledged, ex);
        }
    }

    /// <summary>Batch <paramref name="b"/> of <see cref="IngestUntilRefusedAsync"/>: 500 new domains, the same each time it is built.</summary>
    public static IngestBatch StorageBatch(string prefix, int b)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8($"{prefix}-{b}") };
        for (var i = 0; i < 500; i++)
        {
            batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{b}-{i}.storage.example"));
        }

        return batch;
    }

    /// <summary>The indicator id a sighting of this value gets.</summary>
    public static string IdOf(IndicatorType type, string value) =>
        IndicatorIds.Compute(type, IndicatorNormalizer.Normalize(type, value).Value);

    /// <summary>The indicator as stored at a nation, or null.</summary>
    public Task<Indicator?> GetAsync(string code, IndicatorType type, string value) =>
        this[code].Node!.Runtime.Store.GetIndicatorAsync(IdOf(type, value), CancellationToken.None);

    /// <summary>How many of <paramref name="ids"/> a nation holds.</summary>
    public async Task<int> CountHeldAsync(string code, IReadOnlySet<string> ids)
    {
        var store = this[code].Node!.Runtime.Store;
        var found = 0;
        foreach (var id in ids)
        {
            if (await store.GetIndicatorAsync(id, CancellationToken.None) is not null)
            {
                found++;
            }
        }

        return found;
    }

    /// <summary>
    /// A nation holds exactly <paramref name="expected"/>, each seen once (one observation, counted once: an indicator
    /// received or ingested twice would count 2).
    /// </summary>
    public async Task AssertHoldsExactlyOnceAsync(string code, IReadOnlySet<string> expected)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var indicator in this[code].Node!.Runtime.Store.ReadAllIndicatorsAsync(CancellationToken.None))
        {
            Assert.True(seen.Add(indicator.Id), $"{indicator.Id} stored twice");
            var observation = Assert.Single(indicator.Observations);
            Assert.Equal(1u, observation.Count);
        }

        Assert.True(seen.SetEquals(expected), $"{code} holds {seen.Count} indicators, {expected.Count} were acknowledged");
    }

    /// <summary>A nation's audit log, oldest entry first.</summary>
    public async Task<List<Gateway.Storage.AuditEntry>> AuditAsync(string code)
    {
        var list = new List<Gateway.Storage.AuditEntry>();
        await foreach (var entry in this[code].Node!.Runtime.Store.Audit.TailAsync(100_000, CancellationToken.None))
        {
            list.Add(entry);
        }

        return list;
    }

    /// <summary>
    /// Disposes a federation and then the PostgreSQL cluster its gateways ran on (the cluster even when the federation's
    /// disposal throws). Either may be null (a test that failed before creating it).
    /// </summary>
    internal static async ValueTask DisposeWithClusterAsync(TestFederation? federation, PostgresCluster? cluster)
    {
        try
        {
            if (federation is not null)
            {
                await federation.DisposeAsync();
            }
        }
        finally
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; fails after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"timed out waiting until {what}");
    }

    /// <summary>A free loopback TCP port (outside the ephemeral range, see LoopbackPorts).</summary>
    public static int FreePort() => Gateway.Hosting.LoopbackPorts.Reserve();

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        foreach (var nation in Nations.Values)
        {
            if (nation.Node is { } node)
            {
                await node.DisposeAsync();
            }

            nation.Ca.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
