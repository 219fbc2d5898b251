using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;
using static CyberCoop.Gateway.Tests.Storage.StoreFixtures;

namespace CyberCoop.Gateway.Tests.Lifecycle;

/// <summary>valid_until defaults per type, expiry status and pruning after the retention, on a real SQLite store with a controlled clock.</summary>
public sealed class ExpiryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Now);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private static Sighting Sighting(IndicatorType type, string value, DateTimeOffset observedAt, DateTimeOffset? validUntil = null) => new()
    {
        Type = type,
        Value = value,
        Tlp = Tlp.Green,
        Confidence = 70,
        ObservedAt = Timestamp.FromDateTimeOffset(observedAt),
        Sensor = "s1",
        Count = 1,
        ValidUntil = validUntil is { } v ? Timestamp.FromDateTimeOffset(v) : null,
    };

    [Fact]
    public void Sighting_without_valid_until_gets_its_types_default_lifetime_and_an_explicit_one_wins()
    {
        var lifetimes = ExpiryPolicy.DefaultLifetimes(new ExpiryConfig());
        var validator = new SightingValidator(_time, lifetimes);
        var seen = Now.AddHours(-1);

        var ip = validator.Validate(Sighting(IndicatorType.Ipv4, "198.51.100.9", seen), Node, "agent");
        var hash = validator.Validate(Sighting(IndicatorType.Sha256, new string('a', 64), seen), Node, "agent");
        var cve = validator.Validate(Sighting(IndicatorType.Cve, "CVE-2024-3400", seen), Node, "agent");
        var explicitly = validator.Validate(Sighting(IndicatorType.Ipv4, "198.51.100.10", seen, Now.AddDays(2)), Node, "agent");

        Assert.Equal(seen.AddDays(30), ip.Indicator!.ValidUntil.ToDateTimeOffset());
        Assert.Equal(seen.AddDays(365), hash.Indicator!.ValidUntil.ToDateTimeOffset());
        Assert.Null(cve.Indicator!.ValidUntil);
        Assert.Equal(Now.AddDays(2), explicitly.Indicator!.ValidUntil.ToDateTimeOffset());
    }

    [Fact]
    public void Operator_lifetimes_replace_the_defaults()
    {
        var lifetimes = ExpiryPolicy.DefaultLifetimes(new ExpiryConfig { DefaultLifetimeDays = new Dictionary<string, int> { ["domain"] = 7 } });
        var validator = new SightingValidator(_time, lifetimes);

        var domain = validator.Validate(Sighting(IndicatorType.Domain, "c2.example", Now), Node, "agent");
        var ip = validator.Validate(Sighting(IndicatorType.Ipv4, "198.51.100.9", Now), Node, "agent");

        Assert.Equal(Now.AddDays(7), domain.Indicator!.ValidUntil.ToDateTimeOffset());
        Assert.Null(ip.Indicator!.ValidUntil);
    }

    [Fact]
    public void Expiry_config_errors_are_all_reported_each_naming_its_field()
    {
        var errors = new List<string>();

        ExpiryPolicy.Validate(new ExpiryConfig
        {
            DefaultLifetimeDays = new Dictionary<string, int> { ["ipv5"] = 3, ["domain"] = 0, ["sha256"] = 4000 },
            RetentionDays = -1,
            PruneIntervalSeconds = 5,
        }, errors);

        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("node.expiry.defaultLifetimeDays.ipv5: not an indicator type", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("node.expiry.defaultLifetimeDays.domain: 0 must be between 1 and 3650", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("node.expiry.defaultLifetimeDays.sha256: 4000", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("node.expiry.retentionDays: -1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("node.expiry.pruneIntervalSeconds: 5", StringComparison.Ordinal));
    }

    [Fact]
    public void Expiry_section_in_a_config_file_is_read_and_a_bad_one_refused_with_the_field()
    {
        var bad = """{ "node": { "expiry": { "retentionDays": "soon" } } }""";
        var path = _dir.File("bad.json");
        File.WriteAllText(path, bad);

        var ex = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Load(path));

        Assert.Contains("retentionDays", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Indicator_past_its_valid_until_is_expired_and_one_without_never_is()
    {
        var indicator = Ipv4(1);
        indicator.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(1));

        Assert.Equal(IndicatorStatus.Active, IndicatorStatus.Evaluate(indicator, null, null, Now).Status);
        Assert.Equal(IndicatorStatus.Expired, IndicatorStatus.Evaluate(indicator, null, null, Now.AddDays(1)).Status);
        Assert.Equal(IndicatorStatus.Active, IndicatorStatus.Evaluate(Ipv4(2), null, null, Now.AddYears(10)).Status);
    }

    [Fact]
    public async Task Expired_indicators_are_pruned_only_after_the_retention_with_their_lifecycle_rows()
    {
        await using var store = await GatewayStore.OpenAsync(_dir.File("gateway.db"), _time, Ct);
        var shortLived = Ipv4(1);
        shortLived.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(1));
        var longLived = Ipv4(2);
        longLived.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(100));
        var forever = Ipv4(3);
        await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(shortLived), ValidationOutcome.Valid(longLived), ValidationOutcome.Valid(forever)], Ct);
        await store.SuppressAsync(new SuppressionRecord(shortLived.Id, "fp", Now), new AuditEntry { Kind = AuditKinds.Suppressed, Actor = "t", Subject = shortLived.Id, Decision = "suppressed" }, Ct);
        var retention = TimeSpan.FromDays(30);

        // Expired for 29 days: kept (not sent, not exported as active, but still there).
        _time.SetUtcNow(Now.AddDays(30));
        Assert.Empty(await store.PruneExpiredAsync(_time.GetUtcNow() - retention, Ct));

        // Expired for more than the retention: deleted with its suppression; the others stay.
        _time.SetUtcNow(Now.AddDays(32));
        var pruned = await store.PruneExpiredAsync(_time.GetUtcNow() - retention, Ct, pageSize: 1);

        Assert.Equal([shortLived.Id], pruned);
        Assert.Null(await store.GetIndicatorAsync(shortLived.Id, Ct));
        Assert.NotNull(await store.GetIndicatorAsync(longLived.Id, Ct));
        Assert.NotNull(await store.GetIndicatorAsync(forever.Id, Ct));
        Assert.Null(await store.ReadSuppressionAsync(shortLived.Id, Ct));
    }

    [Fact]
    public async Task Indicator_seen_again_after_it_expired_is_not_pruned()
    {
        await using var store = await GatewayStore.OpenAsync(_dir.File("gateway.db"), _time, Ct);
        var first = Ipv4(1);
        first.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(1));
        await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(first)], Ct);
        _time.SetUtcNow(Now.AddDays(40));
        var again = Ipv4(1);
        again.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(70));
        await store.CommitIngestAsync("agent", Id(2), [ValidationOutcome.Valid(again)], Ct);

        Assert.Empty(await store.PruneExpiredAsync(_time.GetUtcNow() - TimeSpan.FromDays(30), Ct));
        Assert.NotNull(await store.GetIndicatorAsync(first.Id, Ct));
    }
}
