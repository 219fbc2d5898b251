using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Cli;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>
/// Withdrawn, suppressed and expired indicators in the TAXII server, the STIX export and the MISP feed
/// (docs/interoperability.md, "Withdrawn, suppressed and expired indicators"): a withdrawal is served as a revoked new
/// version of the withdrawing origin's object only; suppressed and expired ones are not served as active.
/// </summary>
public sealed class LifecycleExportTests : IAsyncLifetime
{
    private const string Suppressed = "suppressed.example";
    private const string Expired = "expired.example";
    private const string AllyOnly = "192.0.2.99";
    private const string Shared = "evil.example";
    private const string Phish = "phish@evil.example";
    private const string FiNode = "spiffe://fi.cybercoop/gateway/helsinki";
    private static readonly StixSchemaSet s_schemas = new();
    private readonly TempDirectory _temp = new();
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private DevNode _dev = null!;
    private GatewayNode _node = null!;

    public async ValueTask InitializeAsync()
    {
        _dev = DevFederationFixture.Create(_temp.Path).Nodes[0];
        var path = await InteropSeed.SeedAsync(_dev, _now);
        await using (var store = await GatewayStore.OpenAsync(path, TimeProvider.System, CancellationToken.None))
        {
            var expired = InteropSeed.Received(IndicatorType.Domain, Expired, _now, Tlp.Green);
            expired.ValidUntil = Timestamp.FromDateTimeOffset(_now.AddMinutes(-1));
            await store.CommitReceivedAsync(new ReceivedEnvelope
            {
                EnvelopeId = new byte[] { 5, 5 },
                Sender = InteropSeed.AllyNode,
                Origin = InteropSeed.AllyNode,
                BundleId = new byte[] { 6, 6 },
                Accepted = [InteropSeed.Received(IndicatorType.Domain, Suppressed, _now, Tlp.Green), expired],
            }, CancellationToken.None);
            await store.SuppressAsync(new SuppressionRecord(IdOf(IndicatorType.Domain, Suppressed), "local false positive", _now),
                new AuditEntry { Kind = AuditKinds.Suppressed, Actor = "test", Subject = IdOf(IndicatorType.Domain, Suppressed), Decision = "suppressed" }, CancellationToken.None);
        }

        _node = await TaxiiNode.StartAsync(_dev, TaxiiNode.Analyst("opencti"));
        // fi reported back 7 sightings of our phishing address (sector energy), lv 2 (no sectors); and, wrongly, one
        // of lv's own indicator, which this node did not originate.
        await ReportAsync(FiNode, 7, ["energy"], [IdOf(IndicatorType.Email, Phish)]);
        await ReportAsync(InteropSeed.AllyNode, 2, [], [IdOf(IndicatorType.Email, Phish), IdOf(IndicatorType.Ipv4, AllyOnly)]);
    }

    private Task ReportAsync(string reporter, long count, string[] sectors, string[] indicatorIds, DateTimeOffset? receivedAt = null) =>
        _node.Runtime.Store.CommitReceivedSightingsAsync(Guid.NewGuid().ToByteArray(), reporter, Guid.NewGuid().ToByteArray(),
            [.. indicatorIds.Select(id => new ReceivedSightingEntry(id, count, _now.AddHours(-3), _now.AddHours(-1), sectors))], [], receivedAt ?? DateTimeOffset.UtcNow, CancellationToken.None);

    [Fact]
    public async Task Sightings_reported_back_are_STIX_sightings_of_the_own_object_naming_only_the_reporting_nation()
    {
        using var client = TaxiiNode.Client(_node, _dev, "opencti");
        var own = await TaxiiServerTests.CollectionAsync(client, "Our own (ee.cybercoop)");
        var objects = await TaxiiServerTests.AllObjectsAsync(client, own);
        var phish = objects.Single(o => Name(o) == Phish);
        var sightings = objects.Where(o => o.GetProperty("type").GetString() == "sighting").ToList();
        var identities = objects.Where(o => o.GetProperty("type").GetString() == "identity").ToDictionary(o => o.GetProperty("id").GetString()!, o => o.GetProperty("name").GetString());

        Assert.Equal(2, sightings.Count);
        Assert.All(sightings, s =>
        {
            Assert.Empty(s_schemas.ValidateObject(s));
            Assert.Equal(phish.GetProperty("id").GetString(), s.GetProperty("sighting_of_ref").GetString());
            Assert.Equal(s.GetProperty("created_by_ref").GetString(), Assert.Single(s.GetProperty("where_sighted_refs").EnumerateArray()).GetString());
            Assert.Equal(phish.GetProperty("object_marking_refs")[0].GetString(), s.GetProperty("object_marking_refs")[0].GetString());
            Assert.DoesNotContain("helsinki", s.GetRawText(), StringComparison.Ordinal);
            Assert.DoesNotContain("riga", s.GetRawText(), StringComparison.Ordinal);
        });
        var fi = sightings.Single(s => identities[s.GetProperty("created_by_ref").GetString()!] == "fi.cybercoop");
        Assert.Equal(7, fi.GetProperty("count").GetInt32());
        Assert.Equal(["energy"], fi.GetProperty("x_cybercoop_sectors").EnumerateArray().Select(e => e.GetString()));
        var lv = sightings.Single(s => identities[s.GetProperty("created_by_ref").GetString()!] == InteropSeed.AllyDomain);
        Assert.False(lv.TryGetProperty("x_cybercoop_sectors", out _));
        Assert.Equal(_now.AddHours(-3).ToUnixTimeSeconds(), Time(fi, "first_seen").ToUnixTimeSeconds());

        // A new report from fi: a new version of fi's sighting, found by a client polling with added_after.
        var since = (await client.GetAsync(own + "objects/")).Headers["X-TAXII-Date-Added-Last"];
        await ReportAsync(FiNode, 5, ["energy"], [IdOf(IndicatorType.Email, Phish)], DateTimeOffset.UtcNow.AddSeconds(1));
        var poll = await client.GetAsync(own + "objects/?match[type]=sighting&added_after=" + Uri.EscapeDataString(since));
        var updated = Assert.Single(poll.Json.GetProperty("objects").EnumerateArray());
        Assert.Equal(fi.GetProperty("id").GetString(), updated.GetProperty("id").GetString());
        Assert.Equal(12, updated.GetProperty("count").GetInt32());
        Assert.True(Time(updated, "modified") > Time(fi, "modified"));

        // The STIX export carries the same sightings and the reporters' identities; nothing in the received collections.
        var export = await CliRun.RunAsync("indicators", "export", "--config", _dev.ConfigPath, "--format", "stix");
        using var bundle = JsonDocument.Parse(export.Output);
        Assert.Empty(s_schemas.ValidateBundle(bundle.RootElement));
        var exported = bundle.RootElement.GetProperty("objects").EnumerateArray().Where(o => o.GetProperty("type").GetString() == "sighting").ToList();
        Assert.Equal(2, exported.Count);
        Assert.Contains(bundle.RootElement.GetProperty("objects").EnumerateArray(), o => o.GetProperty("id").GetString() == fi.GetProperty("created_by_ref").GetString());
        var received = await TaxiiServerTests.AllObjectsAsync(client, await TaxiiServerTests.CollectionAsync(client, "All received"));
        Assert.DoesNotContain(received, o => o.GetProperty("type").GetString() == "sighting");
    }

    public async ValueTask DisposeAsync()
    {
        await _node.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_withdrawal_is_served_as_a_revoked_new_version_that_a_client_polling_with_added_after_finds()
    {
        using var client = TaxiiNode.Client(_node, _dev, "opencti");
        var lv = await TaxiiServerTests.CollectionAsync(client, "Received from " + InteropSeed.AllyDomain);
        var first = await client.GetAsync(lv + "objects/");
        var before = first.Json.GetProperty("objects").EnumerateArray().Single(o => Name(o) == AllyOnly);
        Assert.False(before.TryGetProperty("revoked", out _));
        var lastSeen = first.Headers["X-TAXII-Date-Added-Last"];

        await WithdrawAsync(AllyOnly, IndicatorType.Ipv4, DateTimeOffset.UtcNow.AddSeconds(1));

        var poll = await client.GetAsync(lv + "objects/?added_after=" + Uri.EscapeDataString(lastSeen));
        var revoked = Assert.Single(poll.Json.GetProperty("objects").EnumerateArray());
        Assert.Equal(before.GetProperty("id").GetString(), revoked.GetProperty("id").GetString());
        Assert.True(revoked.GetProperty("revoked").GetBoolean());
        Assert.True(Time(revoked, "modified") > Time(before, "modified"), "a revoked object is a new version: modified moves on");
        Assert.Empty(s_schemas.ValidateObject(revoked));

        // Both versions the node can produce are listed and served: the one before the withdrawal and the revoked one.
        var objectPath = lv + "objects/" + revoked.GetProperty("id").GetString() + "/";
        var versions = await client.GetAsync(objectPath + "versions/");
        Assert.Equal([before.GetProperty("modified").GetString(), revoked.GetProperty("modified").GetString()],
            versions.Json.GetProperty("versions").EnumerateArray().Select(v => v.GetString()).Order(StringComparer.Ordinal));
        var all = (await client.GetAsync(objectPath + "?match[version]=all")).Json.GetProperty("objects").EnumerateArray().ToList();
        Assert.Equal(2, all.Count);
        Assert.Single(all, o => o.TryGetProperty("revoked", out var r) && r.GetBoolean());
        Assert.All(all, o => Assert.Empty(s_schemas.ValidateObject(o)));
        var earliest = Assert.Single((await client.GetAsync(objectPath + "?match[version]=first")).Json.GetProperty("objects").EnumerateArray());
        Assert.Equal(before.GetRawText(), earliest.GetRawText());
        var last = Assert.Single((await client.GetAsync(objectPath)).Json.GetProperty("objects").EnumerateArray());
        Assert.True(last.GetProperty("revoked").GetBoolean());
        var specific = await client.GetAsync(objectPath + "?match[version]=" + Uri.EscapeDataString(before.GetProperty("modified").GetString()!));
        Assert.Equal(before.GetRawText(), Assert.Single(specific.Json.GetProperty("objects").EnumerateArray()).GetRawText());
    }

    [Fact]
    public async Task Only_the_withdrawing_origins_object_of_a_value_also_seen_here_is_revoked_in_TAXII_and_the_STIX_export()
    {
        await WithdrawAsync(Shared, IndicatorType.Domain, DateTimeOffset.UtcNow);
        using var client = TaxiiNode.Client(_node, _dev, "opencti");

        var peer = (await TaxiiServerTests.AllObjectsAsync(client, await TaxiiServerTests.CollectionAsync(client, "Received from " + InteropSeed.AllyDomain))).Single(o => Name(o) == Shared);
        var own = (await TaxiiServerTests.AllObjectsAsync(client, await TaxiiServerTests.CollectionAsync(client, "Our own (ee.cybercoop)"))).Single(o => Name(o) == Shared);
        Assert.True(peer.GetProperty("revoked").GetBoolean());
        Assert.False(own.TryGetProperty("revoked", out _), "our own sighting still stands behind it");

        var export = await CliRun.RunAsync("indicators", "export", "--config", _dev.ConfigPath, "--format", "stix");
        Assert.True(export.ExitCode == 0, export.ToString());
        using var bundle = JsonDocument.Parse(export.Output);
        var objects = bundle.RootElement.GetProperty("objects").EnumerateArray().Where(o => Name(o) == Shared).ToList();
        Assert.Equal(2, objects.Count);
        Assert.Single(objects, o => o.TryGetProperty("revoked", out var r) && r.GetBoolean() && o.GetProperty("id").GetString() == peer.GetProperty("id").GetString());
        Assert.All(objects, o => Assert.Empty(s_schemas.ValidateObject(o)));
    }

    [Fact]
    public async Task Suppressed_and_expired_indicators_are_not_served_by_TAXII_nor_in_the_STIX_export()
    {
        using var client = TaxiiNode.Client(_node, _dev, "opencti");

        var received = await TaxiiServerTests.AllObjectsAsync(client, await TaxiiServerTests.CollectionAsync(client, "All received"));
        var export = await CliRun.RunAsync("indicators", "export", "--config", _dev.ConfigPath, "--format", "stix");

        Assert.Contains(received, o => Name(o) == AllyOnly);
        Assert.DoesNotContain(received, o => Name(o) is Suppressed or Expired);
        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Contains(AllyOnly, export.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Suppressed, export.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Expired, export.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_MISP_feed_flags_a_withdrawn_attribute_deleted_leaves_out_suppressed_and_keeps_expired_not_for_detection()
    {
        var withdrawnAt = DateTimeOffset.UtcNow.AddMinutes(1);
        await WithdrawAsync(AllyOnly, IndicatorType.Ipv4, withdrawnAt);
        var folder = Path.Combine(_temp.Path, "feed");

        var export = await CliRun.RunAsync("indicators", "export", "--config", _dev.ConfigPath, "--format", "misp-feed", "--out", folder);

        Assert.True(export.ExitCode == 0, export.ToString());
        var events = Directory.GetFiles(folder, "*.json").Where(f => Path.GetFileName(f) != "manifest.json")
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.GetProperty("Event").Clone()).ToList();
        var attributes = events.SelectMany(e => e.GetProperty("Attribute").EnumerateArray().Select(a => (Event: e, Attribute: a))).ToList();
        var withdrawn = attributes.Single(a => a.Attribute.GetProperty("value").GetString() == AllyOnly);
        Assert.True(withdrawn.Attribute.GetProperty("deleted").GetBoolean());
        Assert.False(withdrawn.Attribute.GetProperty("to_ids").GetBoolean());
        Assert.Equal(withdrawnAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), withdrawn.Attribute.GetProperty("timestamp").GetString());
        // The event (and its manifest entry) is newer, so a subscribed MISP fetches it again and applies the deletion.
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json")));
        var eventUuid = withdrawn.Event.GetProperty("uuid").GetString()!;
        Assert.Equal(withdrawn.Attribute.GetProperty("timestamp").GetString(), manifest.RootElement.GetProperty(eventUuid).GetProperty("timestamp").GetString());
        var hashes = File.ReadAllText(Path.Combine(folder, "hashes.csv"));
        Assert.DoesNotContain(Md5(AllyOnly), hashes, StringComparison.Ordinal);

        Assert.DoesNotContain(attributes, a => a.Attribute.GetProperty("value").GetString() == Suppressed);
        var expired = attributes.Single(a => a.Attribute.GetProperty("value").GetString() == Expired);
        Assert.False(expired.Attribute.GetProperty("to_ids").GetBoolean());
        Assert.False(expired.Attribute.GetProperty("deleted").GetBoolean());
        Assert.True(attributes.Single(a => a.Attribute.GetProperty("value").GetString() == "phish@evil.example").Attribute.GetProperty("to_ids").GetBoolean());
    }

    /// <summary>Records lv's withdrawal of its indicator in the running node's store, as the lifecycle receiver does.</summary>
    private Task WithdrawAsync(string value, IndicatorType type, DateTimeOffset at) =>
        _node.Runtime.Store.CommitReceivedWithdrawalAsync(Guid.NewGuid().ToByteArray(),
            new WithdrawalRecord(InteropSeed.AllyNode, IdOf(type, value), new byte[16], "false positive: a CDN", at, at, InteropSeed.AllyNode),
            _ => null, [], CancellationToken.None);

    private static string IdOf(IndicatorType type, string value) => IndicatorIds.Compute(type, value);

    private static string? Name(JsonElement o) => o.TryGetProperty("name", out var n) ? n.GetString() : null;

    private static DateTimeOffset Time(JsonElement o, string property) =>
        DateTimeOffset.Parse(o.GetProperty(property).GetString()!, System.Globalization.CultureInfo.InvariantCulture);

#pragma warning disable CA5351 // MISP's hashes.csv format
    private static string Md5(string value) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(value)));
#pragma warning restore CA5351
}
