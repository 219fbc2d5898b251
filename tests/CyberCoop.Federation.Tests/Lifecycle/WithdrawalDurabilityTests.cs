using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Storage;
using Grpc.Core;
using static CyberCoop.Federation.Tests.Lifecycle.LifecycleFederation;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests.Lifecycle;

/// <summary>Withdrawals through real gateway processes that are killed (SIGKILL) and restarted.</summary>
public sealed class WithdrawalDurabilityTests : IAsyncLifetime
{
    private const string Value = "phish-cdn.durable.example";
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = LifecycleFederation.Create();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private static string Id => IdOf(IndicatorType.Domain, Value);

    [Fact]
    public async Task Withdrawal_survives_the_relay_killed_after_applying_it_and_reaches_the_killed_receiver_once_after_restart()
    {
        await using var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
        var lv = await GatewayProcess.StartAsync(_f["lv"].ConfigPath, _f["lv"].Port);
        try
        {
            await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, Value, Tlp.Clear));
            await WaitUntilAsync(async () => await ReadAsync("lv", s => s.GetIndicatorAsync(Id, CancellationToken.None)) is not null,
                "lv holds ee's indicator by relay", TimeSpan.FromSeconds(60));

            // The relay-only receiver dies; then the origin withdraws; the relay dies (SIGKILL) as soon as it has applied
            // the withdrawal, with its relay to lv still in its outbox.
            await lv.KillAsync();
            var response = await WithdrawAsync(_f, "ee", Id, "shared CDN, false positive");
            Assert.Equal([_f["fi"].GatewayId], response.Peers);
            await WaitUntilAsync(async () => (await ReadAsync("fi", s => s.ReadWithdrawalsAsync(Id, CancellationToken.None))).Count == 1,
                "fi applies the withdrawal", TimeSpan.FromSeconds(60));
            await fi.KillAsync();
            await fi.DisposeAsync();
            await lv.DisposeAsync();
            Assert.Empty(await ReadAsync("lv", s => s.ReadWithdrawalsAsync(Id, CancellationToken.None)));

            fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
            lv = await GatewayProcess.StartAsync(_f["lv"].ConfigPath, _f["lv"].Port);

            await WaitUntilAsync(async () => (await ReadAsync("lv", s => s.ReadWithdrawalsAsync(Id, CancellationToken.None))).Count == 1,
                "lv gets the withdrawal after both restarts", TimeSpan.FromSeconds(90));
            await WaitUntilAsync(async () => (await ReadAsync("fi", s => s.GetOutboxStatsAsync(_f["lv"].GatewayId, CancellationToken.None))).Depth == 0,
                "fi's outbox to lv drains", TimeSpan.FromSeconds(60));
            var atLv = Assert.Single(await ReadAsync("lv", s => s.ReadWithdrawalsAsync(Id, CancellationToken.None)));
            Assert.Equal(_f["ee"].GatewayId, atLv.Origin);
            Assert.Equal(_f["fi"].GatewayId, atLv.Sender);
            Assert.Single(await ReadAsync("fi", s => s.ReadWithdrawalsAsync(Id, CancellationToken.None)));
            var lvAudit = await ReadAsync("lv", LifecycleFederation.AuditAsync);
            Assert.Single(lvAudit, e => e.Decision == "withdrawn-by-origin" && e.Subject == Id);
        }
        finally
        {
            await fi.DisposeAsync();
            await lv.DisposeAsync();
        }
    }

    [Fact]
    public async Task Origin_killed_right_after_withdrawing_delivers_the_withdrawal_after_restart()
    {
        var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        await using var lv = await GatewayProcess.StartAsync(_f["lv"].ConfigPath, _f["lv"].Port);
        var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
        try
        {
            await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, Value, Tlp.Green));
            await WaitUntilAsync(async () => await ReadAsync("lv", s => s.GetIndicatorAsync(Id, CancellationToken.None)) is not null,
                "lv holds ee's indicator by relay", TimeSpan.FromSeconds(60));
            await fi.KillAsync();
            await fi.DisposeAsync();

            // The withdrawal is committed (answered) while fi is down; then the origin is killed.
            await WithdrawAsync(_f, "ee", Id, "false positive");
            await ee.KillAsync();
            await ee.DisposeAsync();
            Assert.Equal(1, (await ReadAsync("ee", s => s.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None))).Depth);

            ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
            fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);

            await WaitUntilAsync(async () => (await ReadAsync("lv", s => s.ReadWithdrawalsAsync(Id, CancellationToken.None))).Count == 1,
                "the withdrawal reaches lv through fi", TimeSpan.FromSeconds(90));
            await WaitUntilAsync(async () => (await ReadAsync("ee", s => s.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None))).Depth == 0,
                "ee's outbox drains", TimeSpan.FromSeconds(60));
            Assert.Single(await ReadAsync("fi", s => s.ReadWithdrawalsAsync(Id, CancellationToken.None)));
        }
        catch (RpcException ex)
        {
            Assert.Fail($"admin call failed: {ex.Status}\n{ee.Output}");
        }
        finally
        {
            await ee.DisposeAsync();
            await fi.DisposeAsync();
        }
    }

    [Fact]
    public async Task Direct_peer_killed_mid_stream_of_withdrawals_applies_each_exactly_once_after_restart_and_so_does_the_relay_only_node()
    {
        const int Count = 40;
        var ids = Enumerable.Range(0, Count).Select(i => IdOf(IndicatorType.Domain, $"fp-{i}.midstream.example")).ToArray();
        await using var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
        await using var lv = await GatewayProcess.StartAsync(_f["lv"].ConfigPath, _f["lv"].Port);
        try
        {
            await _f.IngestAsync("ee", [.. Enumerable.Range(0, Count).Select(i => Sighting(IndicatorType.Domain, $"fp-{i}.midstream.example", Tlp.Green))]);
            await WaitUntilAsync(async () => await HeldAsync("lv", ids) == Count, "lv holds all of ee's indicators by relay", TimeSpan.FromSeconds(90));

            // The origin withdraws them one after another; the direct peer is killed (SIGKILL) as soon as it has applied
            // the first, so the rest stream into its outbox at ee while it is down (and one may be applied unacknowledged).
            var withdrawing = Task.Run(async () =>
            {
                foreach (var id in ids)
                {
                    await WithdrawAsync(_f, "ee", id, "shared hosting, false positive");
                }
            });
            await WaitUntilAsync(async () => await WithdrawnAsync("fi", ids) >= 1, "fi applies the first withdrawal", TimeSpan.FromSeconds(60));
            await fi.KillAsync();
            await fi.DisposeAsync();
            await withdrawing;
            var beforeRestart = await WithdrawnAsync("fi", ids);

            fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);

            await WaitUntilAsync(async () => await WithdrawnAsync("fi", ids) == Count && await WithdrawnAsync("lv", ids) == Count,
                $"fi and lv apply all {Count} withdrawals after fi's restart (fi had {beforeRestart} when killed)", TimeSpan.FromSeconds(120));
            await WaitUntilAsync(async () => (await ReadAsync("ee", s => s.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None))).Depth == 0
                && (await ReadAsync("fi", s => s.GetOutboxStatsAsync(_f["lv"].GatewayId, CancellationToken.None))).Depth == 0, "the outboxes drain", TimeSpan.FromSeconds(60));
            foreach (var code in new[] { "fi", "lv" })
            {
                var applied = (await ReadAsync(code, LifecycleFederation.AuditAsync)).Where(e => e.Decision == "withdrawn-by-origin").Select(e => e.Subject).ToList();
                Assert.Equal(ids.Order(StringComparer.Ordinal), applied.Order(StringComparer.Ordinal));
            }
        }
        finally
        {
            await fi.DisposeAsync();
        }
    }

    private Task<int> HeldAsync(string code, IEnumerable<string> ids) => ReadAsync(code, async s =>
    {
        var held = 0;
        foreach (var id in ids)
        {
            held += await s.GetIndicatorAsync(id, CancellationToken.None) is null ? 0 : 1;
        }

        return held;
    });

    private Task<int> WithdrawnAsync(string code, IEnumerable<string> ids) => ReadAsync(code, async s =>
    {
        var withdrawn = 0;
        foreach (var id in ids)
        {
            withdrawn += (await s.ReadWithdrawalsAsync(id, CancellationToken.None)).Count;
        }

        return withdrawn;
    });

    private Task<T> ReadAsync<T>(string code, Func<GatewayStore, Task<T>> read) => LifecycleFederation.ReadAsync(_f, code, read);
}
