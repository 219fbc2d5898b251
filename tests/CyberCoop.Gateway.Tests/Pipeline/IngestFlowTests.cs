using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Gateway.Tests.Pipeline;

/// <summary>Validate, store and share as the gateway chains them, on a real database.</summary>
public sealed class IngestFlowTests : IDisposable
{
    private const string Tallinn = "spiffe://ee.cybercoop/gateway/tallinn";
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Now);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private static Sighting Sighting(string value, string sensor, uint count, Tlp tlp = Tlp.Green) => new()
    {
        Type = IndicatorType.Domain,
        Value = value,
        Tlp = tlp,
        Confidence = 60,
        ObservedAt = Timestamp.FromDateTimeOffset(Now.AddMinutes(-count)),
        Sensor = sensor,
        Count = count,
        Context = { ["internal_host"] = "db01.corp.internal" },
    };

    [Fact]
    public async Task Two_spellings_from_two_sensors_merge_and_leave_redacted_without_lowering_tlp()
    {
        var validator = new SightingValidator(_time);
        await using var store = await GatewayStore.OpenAsync(_dir.File("gateway.db"), _time, Ct);
        Sighting[] batch =
        [
            Sighting("Bücher.Example.", "suricata-dmz", 2),
            Sighting("xn--bcher-kva.example", "zeek-core", 3, Tlp.Amber),
            Sighting("not a domain", "zeek-core", 1),
        ];

        var commit = await store.CommitIngestAsync("agent-1", StoreFixtures.Id(1),
            [.. batch.Select(s => validator.Validate(s, Tallinn, "agent-1"))], Ct);

        Assert.Equal([ItemOutcome.Accepted, ItemOutcome.Merged, ItemOutcome.Rejected], commit.Results.Select(r => r.Outcome));
        Assert.StartsWith("value: 'not a domain' is not a valid domain name", commit.Results[2].Reason, StringComparison.Ordinal);
        var stored = Assert.Single(commit.Changed);
        Assert.Equal("xn--bcher-kva.example", stored.Value);
        Assert.Equal(Tlp.Amber, stored.Tlp);
        Assert.Equal(84u, stored.Confidence); // 1 - 0.4 * 0.4
        Assert.Equal(["agent-1/suricata-dmz", "agent-1/zeek-core"], stored.Observations.Select(o => o.Sensor));

        var toGreenPeer = new OutboundPolicyEvaluator().Evaluate(stored, new OutboundPolicy { TlpCeiling = Tlp.Green }, Now);
        var toAmberPeer = new OutboundPolicyEvaluator().Evaluate(stored, new OutboundPolicy(), Now);

        Assert.Equal("tlp-above-ceiling", toGreenPeer.Reason);
        Assert.True(toAmberPeer.Shared);
        Assert.All(toAmberPeer.Redacted!.Observations, o =>
        {
            Assert.Equal(string.Empty, o.Sensor);
            Assert.Empty(o.Context);
        });
        Assert.Equal("db01.corp.internal", (await store.GetIndicatorAsync(stored.Id, Ct))!.Observations[0].Context["internal_host"]);
    }
}
