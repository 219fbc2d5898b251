using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Google.Protobuf;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Two real gateway processes of one nation (ee) active-active on one real PostgreSQL database, under load from an
/// agent that sends each batch to one of them and re-sends it to the other when its process dies. Each process is
/// killed with SIGKILL in turn (the second after the first came back); the receiving nation (fi) must end with every
/// acknowledged indicator exactly once, and ee's dispatch must never have sent one twice.
/// </summary>
public sealed class HighAvailabilityTests : IAsyncLifetime
{
    private const int Batches = 60;
    private const int PerBatch = 100;
    private TestFederation _f = null!;
    private string _database = null!;
    private string _secondConfig = null!;
    private int _secondPort;

    public async ValueTask InitializeAsync()
    {
        _database = await PostgresTestServer.CreateDatabaseAsync(TestContext.Current.CancellationToken);
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi", new OutboundPolicyConfig { TlpCeiling = "AMBER" });
        // Short leases: a killed process's claimed envelopes are re-sent by the survivor 5 s after its last renewal.
        _f["ee"].Config = _f["ee"].Config with { Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = _database, OutboxLeaseSeconds = 5 } } };
        _f.WriteConfigs();

        // The second process: same identity, keys, peers and database; its own port and admin socket.
        _secondPort = FreePort();
        var second = _f["ee"].Config with
        {
            Node = _f["ee"].Config.Node with { Listen = $"127.0.0.1:{_secondPort}", AdminSocket = "admin-2.sock" },
        };
        _secondConfig = Path.Combine(_f["ee"].Directory, "gateway-2.json");
        await File.WriteAllTextAsync(_secondConfig, GatewayConfigFile.Serialize(second), TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Two_processes_on_one_database_lose_nothing_acknowledged_and_duplicate_nothing_when_each_is_killed_in_turn()
    {
        await using var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
        var processes = new ChildProcess?[2];
        int[] ports = [_f["ee"].Port, _secondPort];
        string[] configs = [_f["ee"].ConfigPath, _secondConfig];
        var acknowledged = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            processes[0] = await GatewayProcess.StartAsync(configs[0], ports[0]);
            processes[1] = await GatewayProcess.StartAsync(configs[1], ports[1]);
            for (var b = 0; b < Batches; b++)
            {
                var batch = Batch(b);
                var target = b % 2;
                if (b == 15)
                {
                    await processes[0]!.KillAsync(); // SIGKILL the first while both carry load
                }
                else if (b == 30)
                {
                    processes[0] = await GatewayProcess.StartAsync(configs[0], ports[0]); // the first comes back
                }
                else if (b == 40)
                {
                    await processes[1]!.KillAsync(); // then SIGKILL the second
                }

                // The agent sends to one process; when that one is dead it re-sends the same batch id to the other,
                // which answers from the shared database (a duplicate when the dead one had committed it).
                var result = await SubmitAsync(ports[target], batch) ?? await SubmitAsync(ports[1 - target], batch)
                    ?? throw new InvalidOperationException($"batch {b}: neither process answered\n{Output(processes)}");
                foreach (var item in result.Items)
                {
                    Assert.NotEqual(ItemOutcome.Rejected, item.Outcome);
                    acknowledged.Add(item.IndicatorId);
                }
            }

            Assert.Equal(Batches * PerBatch, acknowledged.Count);
            await _f.WaitForStoredCountAsync("fi", acknowledged.Count, TimeSpan.FromSeconds(180), () => Output(processes) + fi.Output);
            await AssertExactlyOnceAtFiAsync(acknowledged);
            await using var shared = await GatewayStore.OpenPostgresAsync(_database, TimeProvider.System, new PostgresStoreOptions(), CancellationToken.None);
            var chain = await shared.Audit.VerifyAsync(null, CancellationToken.None);
            Assert.True(chain.Ok, chain.Problem); // both processes appended to one hash chain
            await WaitUntilAsync(async () => (await shared.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None)).Depth == 0,
                "ee's shared outbox towards fi drains", TimeSpan.FromSeconds(120));
        }
        finally
        {
            foreach (var process in processes)
            {
                if (process is not null)
                {
                    await process.DisposeAsync();
                }
            }
        }
    }

    private async Task<IngestResult?> SubmitAsync(int port, IngestBatch batch)
    {
        try
        {
            // A connection per call, closed after it (a caller holds at most node.limits.callerMaxConnections at once).
            using var certificate = _f.LoadCertificate("ee", "agent");
            using var channel = _f["ee"].OpenChannel(certificate, address: $"https://127.0.0.1:{port}");
            using var call = new Ingest.IngestClient(channel).Submit(deadline: DateTime.UtcNow.AddSeconds(60));
            await call.RequestStream.WriteAsync(batch);
            await call.RequestStream.CompleteAsync();
            return await call.ResponseStream.MoveNext(CancellationToken.None) ? call.ResponseStream.Current : null;
        }
        catch (RpcException)
        {
            return null; // that process is dead (or died mid-call): the agent tries the other one
        }
    }

    private static IngestBatch Batch(int b)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8($"ha-{b}") };
        for (var i = 0; i < PerBatch; i++)
        {
            batch.Sightings.Add(Sighting(IndicatorType.Domain, $"ha-{b}-{i}.active-active.example"));
        }

        return batch;
    }

    private static string Output(ChildProcess?[] processes) =>
        string.Join("\n---\n", processes.Select((p, i) => $"ee process {i + 1}:\n{p?.Output}"));

    private async Task AssertExactlyOnceAtFiAsync(IReadOnlySet<string> expected)
    {
        await using var store = await GatewayStore.OpenAsync(Path.Combine(_f["fi"].Directory, "gateway.db"), TimeProvider.System, CancellationToken.None);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var indicator in store.ReadAllIndicatorsAsync(CancellationToken.None))
        {
            Assert.True(seen.Add(indicator.Id), $"{indicator.Id} stored twice");
            Assert.Equal(1u, Assert.Single(indicator.Observations).Count); // merged once: never applied twice
        }

        Assert.Equal(expected.Count, seen.Count);
        Assert.Subset(seen, new HashSet<string>(expected, StringComparer.Ordinal));
        // Every indicator arrived in exactly one accepted envelope: ee never dispatched a change twice (two processes
        // share one change-feed cursor), and a re-sent envelope (a dead process's lease taken over) was a duplicate.
        var fromEe = Assert.Single(await store.ReadPeerCountersAsync(CancellationToken.None), c => c.Peer == _f["ee"].GatewayId);
        Assert.Equal(expected.Count, fromEe.IndicatorsReceived);
    }
}
