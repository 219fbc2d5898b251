using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Cli;
using CyberCoop.Testing;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>
/// STIX and MISP feed exports of an indicator merged from an own sighting and a peer's content: each origin's object
/// carries only what that origin attests (docs/interoperability.md, "Whose content an object carries"), and no
/// object is marked with a TLP lower than the merged record's.
/// </summary>
public sealed class OriginContentExportTests : IDisposable
{
    private const string Value = "mixed.example";
    private const string PeerOnly = "peer-only.example";
    private const string AmberMarking = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    private readonly TempDirectory _dir = new();
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_own_domains_STIX_object_carries_only_the_own_sighting_and_the_peers_object_no_own_field()
    {
        var node = await SeedAsync();
        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath, "--format", "stix");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var bundle = JsonDocument.Parse(result.Output);
        var objects = bundle.RootElement.GetProperty("objects").EnumerateArray().ToList();
        var names = objects.Where(o => o.GetProperty("type").GetString() == "identity")
            .ToDictionary(o => o.GetProperty("id").GetString()!, o => o.GetProperty("name").GetString()!);
        var mixed = objects.Where(o => o.TryGetProperty("name", out var n) && n.GetString() == Value).ToList();
        var own = mixed.Single(o => names[o.GetProperty("created_by_ref").GetString()!] == node.TrustDomain);
        var peer = mixed.Single(o => names[o.GetProperty("created_by_ref").GetString()!] == InteropSeed.AllyDomain);

        Assert.Equal(["own-tag"], own.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("own description", own.GetProperty("description").GetString());
        Assert.Equal(["energy"], own.GetProperty("x_cybercoop_sectors").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(60, own.GetProperty("confidence").GetInt32());
        Assert.True(Time(own, "created") > _now.AddMinutes(-30), "created is the own first sighting, not the peer's first_seen");
        Assert.True(Time(own, "valid_until") < _now.AddDays(11), "valid_until is the own sighting's, not the peer's later one");
        Assert.DoesNotContain("peer", own.GetRawText(), StringComparison.Ordinal);

        Assert.False(peer.TryGetProperty("labels", out _));
        Assert.False(peer.TryGetProperty("description", out _));
        Assert.False(peer.TryGetProperty("x_cybercoop_sectors", out _));
        Assert.False(peer.TryGetProperty("valid_until", out _));
        Assert.Equal(90, peer.GetProperty("confidence").GetInt32());
        Assert.Equal(_now.AddHours(-2).ToUnixTimeSeconds(), Time(peer, "created").ToUnixTimeSeconds());
        Assert.DoesNotContain("own", peer.GetRawText(), StringComparison.Ordinal);

        // TLP never lowered: the own sighting was GREEN, the peer's AMBER; both objects are marked AMBER.
        Assert.All(mixed, o => Assert.Equal([AmberMarking], o.GetProperty("object_marking_refs").EnumerateArray().Select(m => m.GetString())));

        // A peer that alone contributed a record: its tags and description are its own and are kept.
        var sole = objects.Single(o => o.TryGetProperty("name", out var n) && n.GetString() == PeerOnly);
        Assert.Equal(["peer-tag"], sole.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("peer description", sole.GetProperty("description").GetString());
    }

    [Fact]
    public async Task The_own_domains_MISP_attribute_carries_only_the_own_sighting_and_the_peers_no_own_field()
    {
        var node = await SeedAsync();
        var folder = Path.Combine(_dir.Path, "feed");
        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath, "--format", "misp-feed", "--out", folder);
        Assert.True(result.ExitCode == 0, result.ToString());

        var attributes = new List<(string Org, string EventTlp, JsonElement Attribute)>();
        var documents = new List<JsonDocument>();
        foreach (var file in Directory.GetFiles(folder, "*.json").Where(f => Path.GetFileName(f) != "manifest.json"))
        {
            var document = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            documents.Add(document);
            var evt = document.RootElement.GetProperty("Event");
            var tlp = evt.GetProperty("Tag")[0].GetProperty("name").GetString()!;
            attributes.AddRange(evt.GetProperty("Attribute").EnumerateArray().Select(a => (evt.GetProperty("Orgc").GetProperty("name").GetString()!, tlp, a)));
        }

        try
        {
            var own = attributes.Single(a => a.Org == node.TrustDomain && a.Attribute.GetProperty("value").GetString() == Value);
            var peer = attributes.Single(a => a.Org == InteropSeed.AllyDomain && a.Attribute.GetProperty("value").GetString() == Value);

            var ownTags = Tags(own.Attribute);
            Assert.Contains("own-tag", ownTags);
            Assert.Contains("cybercoop:sector=\"energy\"", ownTags);
            Assert.Contains("cybercoop:confidence=\"60\"", ownTags);
            Assert.DoesNotContain("peer-tag", ownTags);
            Assert.DoesNotContain("cybercoop:sector=\"finance\"", ownTags);
            Assert.Equal("own description", own.Attribute.GetProperty("comment").GetString());
            Assert.DoesNotContain("peer", own.Attribute.GetRawText(), StringComparison.Ordinal);

            var peerTags = Tags(peer.Attribute);
            Assert.DoesNotContain("own-tag", peerTags);
            Assert.DoesNotContain("cybercoop:sector=\"energy\"", peerTags);
            Assert.Contains("cybercoop:confidence=\"90\"", peerTags);
            Assert.Equal("", peer.Attribute.GetProperty("comment").GetString());
            Assert.DoesNotContain("own", peer.Attribute.GetRawText(), StringComparison.Ordinal);

            // TLP never lowered: the own sighting was GREEN, the merged record is AMBER.
            Assert.All(new[] { own, peer }, a =>
            {
                Assert.Equal("tlp:amber", a.EventTlp);
                Assert.Contains("tlp:amber", Tags(a.Attribute));
                Assert.DoesNotContain("tlp:green", Tags(a.Attribute));
            });
        }
        finally
        {
            documents.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task Observations_naming_this_domain_received_from_a_peer_are_not_exported_as_this_domains_object()
    {
        var node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        var loaded = GatewayConfigFile.Load(node.ConfigPath);
        await using (var store = await GatewayStore.OpenAsync(loaded.Resolve(loaded.Config.Node.Storage), TimeProvider.System, CancellationToken.None))
        {
            // A peer's bundle whose observation claims this node: received content, no own sighting.
            var forged = InteropSeed.Received(IndicatorType.Domain, "forged.example", _now, Tlp.Green, node.Id, node.TrustDomain);
            forged.Tags.Add("peer-tag");
            await store.CommitReceivedAsync(Envelope(forged), CancellationToken.None);
        }

        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath, "--format", "stix", "--origin", node.TrustDomain);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("forged.example", result.Output, StringComparison.Ordinal);
    }

    private static List<string> Tags(JsonElement attribute) =>
        [.. attribute.GetProperty("Tag").EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];

    private static DateTimeOffset Time(JsonElement stix, string property) =>
        DateTimeOffset.Parse(stix.GetProperty(property).GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A node whose own agent reported <see cref="Value"/> (GREEN, confidence 60, own tag, description, sector, valid 10
    /// days) and which then received the same value from lv (AMBER, 90, first seen 2 h ago, its tag, description, sector,
    /// valid 60 days), and <see cref="PeerOnly"/> from lv alone.
    /// </summary>
    private async Task<DevNode> SeedAsync()
    {
        var node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        var loaded = GatewayConfigFile.Load(node.ConfigPath);
        await using var store = await GatewayStore.OpenAsync(loaded.Resolve(loaded.Config.Node.Storage), TimeProvider.System, CancellationToken.None);
        var sighting = new Sighting
        {
            Type = IndicatorType.Domain,
            Value = Value,
            Tlp = Tlp.Green,
            Confidence = 60,
            ObservedAt = Timestamp.FromDateTimeOffset(_now.AddMinutes(-5)),
            Sensor = InteropSeed.Sensor,
            ValidUntil = Timestamp.FromDateTimeOffset(_now.AddDays(10)),
            Description = "own description",
        };
        sighting.Tags.Add("own-tag");
        sighting.Sectors.Add("energy");
        var item = new SightingValidator(TimeProvider.System).Validate(sighting, node.Id, InteropSeed.Agent);
        Assert.True(item.IsValid, item.Error);
        await store.CommitIngestAsync(InteropSeed.Agent, new byte[] { 7 }, [item], CancellationToken.None);

        var received = InteropSeed.Received(IndicatorType.Domain, Value, _now, Tlp.Amber);
        received.Tags.Add("peer-tag");
        received.Sectors.Add("finance");
        received.Description = "peer description";
        received.ValidUntil = Timestamp.FromDateTimeOffset(_now.AddDays(60));
        var sole = InteropSeed.Received(IndicatorType.Domain, PeerOnly, _now, Tlp.Green);
        sole.Tags.Add("peer-tag");
        sole.Description = "peer description";
        await store.CommitReceivedAsync(Envelope(received, sole), CancellationToken.None);
        return node;
    }

    private static ReceivedEnvelope Envelope(params Indicator[] indicators) => new()
    {
        EnvelopeId = new byte[] { 1, 2, 3 },
        Sender = InteropSeed.AllyNode,
        Origin = InteropSeed.AllyNode,
        BundleId = new byte[] { 4, 5, 6 },
        Accepted = [.. indicators],
    };
}
