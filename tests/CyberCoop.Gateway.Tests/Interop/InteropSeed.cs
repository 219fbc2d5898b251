using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>
/// Fills a dev node's real SQLite store with one indicator of every type seen by its own agent (through the real
/// ingest validation and commit) and one indicator received from another nation (through the real receive commit).
/// </summary>
internal static class InteropSeed
{
    public const string Sensor = "suricata-dmz-secret";
    public const string Agent = "agent-plant-7";
    public const string AllyDomain = "lv.cybercoop";
    public const string AllyNode = "spiffe://lv.cybercoop/gateway/riga";
    public const string AllySensor = "ee-sensor-hidden";

    /// <summary>One value of every type the node knows (raw: the validator normalizes them).</summary>
    public static readonly (IndicatorType Type, string Value)[] EveryType =
    [
        (IndicatorType.Ipv4, "198.51.100.7"),
        (IndicatorType.Ipv6, "2001:DB8::7"),
        (IndicatorType.Cidr, "203.0.113.0/24"),
        (IndicatorType.Domain, "Evil.Example"),
        (IndicatorType.Url, "http://evil.example/it's/a\\path"),
        (IndicatorType.Email, "phish@evil.example"),
        (IndicatorType.Md5, "d41d8cd98f00b204e9800998ecf8427e"),
        (IndicatorType.Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (IndicatorType.Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (IndicatorType.Sha512, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
        (IndicatorType.Ja3, "e7d705a3286e19ea42f587b344ee6865"),
        (IndicatorType.Ja4, "t13d1516h2_8daaf6152771_b186095e22b6"),
        (IndicatorType.Asn, "64496"),
        (IndicatorType.Cve, "CVE-2024-3400"),
    ];

    public static DevNode CreateNode(string directory) =>
        DevFederation.Create(directory, new DevFederationOptions { BasePort = 0 }).Nodes[0];

    /// <summary>Ingests every type (own node) and receives one indicator from <see cref="AllyDomain"/>; returns the store path.</summary>
    public static async Task<string> SeedAsync(DevNode node, DateTimeOffset now, Tlp tlp = Tlp.Amber)
    {
        var loaded = GatewayConfigFile.Load(node.ConfigPath);
        var path = loaded.Resolve(loaded.Config.Node.Storage);
        await using var store = await GatewayStore.OpenAsync(path, TimeProvider.System, CancellationToken.None);
        var validator = new SightingValidator(TimeProvider.System);
        var items = EveryType.Select(e =>
        {
            var sighting = new Sighting
            {
                Type = e.Type,
                Value = e.Value,
                Tlp = tlp,
                Confidence = 70,
                ObservedAt = Timestamp.FromDateTimeOffset(now.AddMinutes(-5)),
                Sensor = Sensor,
                ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(30)),
                Description = "seen on " + e.Type,
            };
            sighting.Tags.Add("c2");
            sighting.Tags.Add("cve-2023-4966");
            sighting.Sectors.Add("energy");
            sighting.Context.Add("internal_host", "scada-hmi-01.plant.local");
            return validator.Validate(sighting, node.Id, Agent);
        }).ToList();
        Assert.All(items, i => Assert.True(i.IsValid, i.Error));
        await store.CommitIngestAsync(Agent, new byte[] { 7 }, items, CancellationToken.None);

        // The shared domain (also seen by the ally) and one the ally alone sent.
        var shared = items.Single(i => i.Indicator!.Type == IndicatorType.Domain).Indicator!;
        await store.CommitReceivedAsync(new ReceivedEnvelope
        {
            EnvelopeId = new byte[] { 1, 2, 3 },
            Sender = AllyNode,
            Origin = AllyNode,
            BundleId = new byte[] { 4, 5, 6 },
            Accepted = [Received(shared.Type, shared.Value, now, Tlp.Green), Received(IndicatorType.Ipv4, "192.0.2.99", now, Tlp.Clear)],
        }, CancellationToken.None);
        return path;
    }

    public static Indicator Received(IndicatorType type, string value, DateTimeOffset now, Tlp tlp, string node = AllyNode, string domain = AllyDomain)
    {
        var indicator = new Indicator
        {
            Id = IndicatorIds.Compute(type, value),
            Type = type,
            Value = value,
            Tlp = tlp,
            Confidence = 90,
            FirstSeen = Timestamp.FromDateTimeOffset(now.AddHours(-2)),
            LastSeen = Timestamp.FromDateTimeOffset(now.AddHours(-1)),
            OriginDomain = domain,
        };
        indicator.Observations.Add(new Observation
        {
            Node = node,
            Sensor = AllySensor,
            Count = 3,
            Confidence = 90,
            FirstSeen = indicator.FirstSeen,
            LastSeen = indicator.LastSeen,
        });
        return indicator;
    }
}
