using System.Net;
using System.Net.Sockets;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A real gateway process under a low open-file limit (RLIMIT_NOFILE) flooded with connections that never start TLS:
/// it holds at most its connection budget (the limit less what it had open at start less a reserve), so it never runs
/// out of descriptors. It stays up, its established peer stream keeps delivering, its admin socket answers, and once
/// the flood ends it accepts new callers again. Nothing acknowledged is lost. A flood from one source address takes
/// only that source's share of the budget, and new callers are served while it lasts.
/// <para>
/// Before the budget the flood took every descriptor, and the .NET runtime, which needs one to start a thread, ended
/// the process ("Out of memory.") when its thread pool next grew: in the full suite, or here with the flood held
/// for 30 s, the node was gone when the flood ended.
/// </para>
/// </summary>
[Collection(nameof(NetworkFaultTests))]
public sealed class FileDescriptorExhaustionTests : IAsyncLifetime
{
    private const int OpenFileLimit = 512;

    // Source addresses of the flood that fills the budget: more than the budget over the per-source share.
    private const int FloodSources = 40;
    private TestFederation _f = null!;
    private ChildProcess? _fi;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f.WriteConfigs();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_node_flooded_with_connections_holds_its_budget_stays_up_and_accepts_callers_again_when_the_flood_ends()
    {
        await using var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port, OpenFileLimit);
        _fi = fi;
        await using var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        var sent = new HashSet<string>(StringComparer.Ordinal);
        sent.UnionWith(await IngestAsync("ee", "before", 200));
        await _f.WaitForStoredCountAsync("fi", sent.Count, TimeSpan.FromSeconds(90), () => ee.Output + fi.Output);
        var (budgetFromLog, _) = BudgetFromLog(fi.Output);
        var budget = (ulong)budgetFromLog;

        // The flood: plain TCP connections from 40 source addresses that never start TLS, topped up (the node closes each one when its TLS
        // handshake times out, 10 s) until the budget is full and the node closes new ones at once; then held for
        // 30 s more, three handshake timeouts, the time in which the node used to run out of descriptors and die.
        var flood = new List<TcpClient>();
        var mostDescriptors = 0;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            var status = await ConnectionStatusAsync();
            while (status.Refused < 200)
            {
                Assert.True(DateTime.UtcNow < deadline, $"fi's connection budget never filled ({status.Open} of {status.Budget} open after {flood.Count} connections)");
                await TopUpAsync(flood, 64, FloodSources);
                mostDescriptors = Math.Max(mostDescriptors, OpenDescriptors(fi));
                status = await ConnectionStatusAsync();
            }

            Assert.Equal(budget, status.Budget);
            Assert.InRange(status.Open, 1UL, budget);

            // Full: a new agent connection is closed at once, the operator still sees why on the admin socket, and
            // ee's established stream still delivers.
            await Assert.ThrowsAsync<RpcException>(() => IngestAsync("fi", "refused", 1, TimeSpan.FromSeconds(5)));
            var (exit, text, _) = await _f.StatusAsync("fi", json: false);
            Assert.Equal(0, exit);
            Assert.Contains($" of {budget} inbound (", text, StringComparison.Ordinal);
            sent.UnionWith(await IngestAsync("ee", "during", 300));
            await _f.WaitForStoredCountAsync("fi", sent.Count, TimeSpan.FromSeconds(90), () => ee.Output + fi.Output);

            var holdUntil = DateTime.UtcNow.AddSeconds(30);
            var warned = false;
            while (DateTime.UtcNow < holdUntil)
            {
                Assert.False(fi.HasExited, fi.Output);
                await TopUpAsync(flood, 64, FloodSources);
                mostDescriptors = Math.Max(mostDescriptors, OpenDescriptors(fi));
                // While the budget is full, status says so on stderr, with what to do.
                var (_, _, warnings) = await _f.StatusAsync("fi", json: false);
                warned |= warnings.Contains($"the connection budget is full ({budget} of {budget} inbound connections)", StringComparison.Ordinal)
                    && warnings.Contains("raise the open-file limit (LimitNOFILE, now 512)", StringComparison.Ordinal);
                await Task.Delay(500);
            }

            Assert.True(warned, "status never warned that the connection budget was full");

            Assert.False(fi.HasExited, fi.Output);
            Assert.True(mostDescriptors < OpenFileLimit, $"fi had {mostDescriptors} descriptors open, its limit is {OpenFileLimit}");
        }
        finally
        {
            foreach (var client in flood)
            {
                client.Dispose();
            }
        }

        // The flood is over: a new caller (an agent of fi, on a new connection) is served again.
        var agentIds = new HashSet<string>(StringComparer.Ordinal);
        var served = DateTime.UtcNow.AddSeconds(60);
        while (agentIds.Count == 0)
        {
            try
            {
                agentIds.UnionWith(await IngestAsync("fi", "after", 50, TimeSpan.FromSeconds(5)));
            }
            catch (RpcException e)
            {
                Assert.True(DateTime.UtcNow < served, $"fi did not accept a new agent connection within 60 s of the flood's end (exited: {fi.HasExited}; last: {e.Status}):\n{fi.Tail}");
                await Task.Delay(200);
            }
        }

        Assert.Equal(50, agentIds.Count);
        Assert.False(fi.HasExited, fi.Output);

        sent.UnionWith(await IngestAsync("ee", "after-flood", 100));
        await _f.WaitForStoredCountAsync("fi", sent.Count + agentIds.Count, TimeSpan.FromSeconds(90), () => ee.Output + fi.Output);
        var after = await ConnectionStatusAsync();
        Assert.True(after.Refused >= 200, $"refused {after.Refused}");
    }

    [Fact]
    public async Task A_flood_from_one_address_takes_only_its_share_of_the_budget_and_new_callers_are_served_while_it_lasts()
    {
        await using var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port, OpenFileLimit);
        _fi = fi;
        await WaitUntilAsync(() => Task.FromResult(fi.Output.Contains("Connection budget:", StringComparison.Ordinal)), "fi logs its connection budget");
        var (budget, perSource) = BudgetFromLog(fi.Output);
        Assert.True(perSource < budget, $"a share of {perSource} of {budget}");
        var flood = new List<TcpClient>();
        try
        {
            // One source (127.0.0.2) opens connections that never start TLS, topped up until 100 were refused.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            var status = await ConnectionStatusAsync();
            while (status.Refused < 100)
            {
                Assert.True(DateTime.UtcNow < deadline, $"fi never refused the single-source flood ({status.Open} open after {flood.Count} connections)");
                await TopUpAsync(flood, 64, sources: 1);
                status = await ConnectionStatusAsync();
            }

            Assert.InRange(status.Open, 1UL, (ulong)perSource);

            // The rest of the budget is everyone else's: an agent (from 127.0.0.1) is served while the flood goes on.
            var ids = await IngestAsync("fi", "during-one-source-flood", 50, TimeSpan.FromSeconds(30));
            Assert.Equal(50, ids.Count);
            Assert.Contains($"because their source already held {perSource} unfinished TLS handshakes (last: 127.0.0.2)", fi.Output, StringComparison.Ordinal);
            Assert.False(fi.HasExited, fi.Output);
        }
        finally
        {
            foreach (var client in flood)
            {
                client.Dispose();
            }
        }
    }

    // "Connection budget: at most N inbound connections at once, P per source address in unfinished TLS handshakes
    // (open-file limit 512, D open at start, 128 kept ...)": the limit less what the node had open at start less its
    // reserve, and an eighth of that (at least 16) per source.
    private static (int Budget, int PerSource) BudgetFromLog(string output)
    {
        var match = System.Text.RegularExpressions.Regex.Match(output,
            @"Connection budget: at most (\d+) inbound connections at once, (\d+) per source address in unfinished TLS handshakes \(open-file limit (\d+), (\d+) open at start, (\d+) kept");
        Assert.True(match.Success, output);
        int Group(int i) => int.Parse(match.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(OpenFileLimit, Group(3));
        Assert.Equal(128, Group(5));
        Assert.Equal(OpenFileLimit - Group(4) - Group(5), Group(1));
        Assert.InRange(Group(1), 16, OpenFileLimit);
        Assert.Equal(Math.Max(16, Group(1) / 8), Group(2));
        return (Group(1), Group(2));
    }

    // Opens count plain TCP connections to fi, from the loopback source addresses given (127.0.0.2, 127.0.0.3, ...
    // in turn; all of 127.0.0.0/8 is this machine), that never start TLS.
    private async Task TopUpAsync(List<TcpClient> flood, int count, int sources)
    {
        for (var i = 0; i < count; i++)
        {
            var client = new TcpClient(new IPEndPoint(new IPAddress([127, 0, 0, (byte)(2 + (flood.Count % sources))]), 0));
            flood.Add(client);
            try
            {
                using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await client.ConnectAsync("127.0.0.1", _f["fi"].Port, connect.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // The listen backlog is full: the node has not accepted what is queued yet.
            }
        }
    }

    // fi's connection figures from `status --json` on its admin socket (which the budget does not cover).
    private async Task<(ulong Open, ulong Budget, ulong Refused)> ConnectionStatusAsync()
    {
        var (exit, output, error) = await _f.StatusAsync("fi", json: true);
        Assert.True(exit == 0, $"{error}\nfi exited: {_fi?.HasExited}\n{_fi?.Tail}");
        using var json = System.Text.Json.JsonDocument.Parse(output);
        return (Read(json, "connectionsOpen"), Read(json, "connectionBudget"), Read(json, "connectionsRefused"));

        static ulong Read(System.Text.Json.JsonDocument json, string name)
        {
            var value = json.RootElement.GetProperty(name);
            return value.ValueKind == System.Text.Json.JsonValueKind.String
                ? ulong.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture)
                : value.GetUInt64();
        }
    }

    private static int OpenDescriptors(ChildProcess process)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{process.Id}/fd").Length;
        }
        catch (IOException)
        {
            return 0; // a descriptor closed while the folder was read: read again on the next poll
        }
    }

    private Task<HashSet<string>> IngestAsync(string code, string prefix, int count, TimeSpan? deadline = null)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8(prefix) };
        for (var i = 0; i < count; i++)
        {
            batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{i}.{code}.fd.example"));
        }

        return _f.IngestAcceptedAsync(code, [batch], deadline ?? TimeSpan.FromSeconds(60));
    }
}
