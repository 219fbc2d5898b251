using System.Text.Json.Serialization.Metadata;
using CyberCoop.Gateway.Configuration;
using Xunit;

namespace CyberCoop.Gateway.Tests.Configuration;

/// <summary>
/// The config types are records with init-only properties. The source-generated reader would give a field missing from
/// gateway.json <c>default(T)</c> (null, 0, false); these tests hold it to the defaults the declarations state, at every
/// depth, and to an exact round trip of everything an operator can write.
/// </summary>
public sealed class GatewayConfigDefaultsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Every_section_reachable_from_gateway_json_has_its_defaults_listed()
    {
        var sections = new HashSet<Type>();
        Collect(GatewayConfigJsonContext.Default.GatewayConfig, sections);

        Assert.Equal(sections.OrderBy(t => t.Name), GatewayConfigFile.SectionsWithDefaults.OrderBy(t => t.Name));
    }

    [Fact]
    public void A_file_naming_only_what_has_no_default_reads_every_other_field_at_its_declared_default_at_every_depth()
    {
        var path = Write("""
            {
              "node": {
                "trustDomain": "ee.cybercoop", "name": "tallinn",
                "tls": { "certificate": "gateway.crt", "key": "gateway.key", "root": "root.crt" }
              },
              "peers": [ { "id": "spiffe://lv.cybercoop/gateway/riga", "trustDomain": "lv.cybercoop", "address": "https://127.0.0.1:7402",
                           "root": "peers/lv.crt", "rootPin": "sha256:00", "outbound": { "minConfidence": 70 }, "inbound": {} } ],
              "trustedOrigins": [ { "trustDomain": "fi.cybercoop", "root": "peers/fi.crt", "rootPin": "sha256:01" } ],
              "taxii": { "analysts": [ { "name": "ana" } ] },
              "console": { "operators": [ { "name": "olga" } ] },
              "storage": { "postgres": { "connectionString": "Host=db" } }
            }
            """);

        var parsed = GatewayConfigFile.Parse(path);

        var expected = new GatewayConfig
        {
            Node = new NodeConfig
            {
                TrustDomain = "ee.cybercoop",
                Name = "tallinn",
                Tls = new TlsConfig { Certificate = "gateway.crt", Key = "gateway.key", Root = "root.crt" },
            },
            Peers =
            [
                new PeerConfig
                {
                    Id = "spiffe://lv.cybercoop/gateway/riga", TrustDomain = "lv.cybercoop", Address = "https://127.0.0.1:7402",
                    Root = "peers/lv.crt", RootPin = "sha256:00", Outbound = new OutboundPolicyConfig { MinConfidence = 70 },
                },
            ],
            TrustedOrigins = [new TrustedOriginConfig { TrustDomain = "fi.cybercoop", Root = "peers/fi.crt", RootPin = "sha256:01" }],
            Taxii = new TaxiiConfig { Analysts = [new TaxiiAnalystConfig { Name = "ana" }] },
            Console = new ConsoleConfig { Operators = [new ConsoleOperatorConfig { Name = "olga" }] },
            Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = "Host=db" } },
        };
        Assert.Equal(GatewayConfigFile.Serialize(expected), GatewayConfigFile.Serialize(parsed));
        // Spot checks of what default(T) would have broken, each at a different depth.
        Assert.Equal(120, parsed.Node.MaxClockSkewSeconds);
        Assert.Equal(5_000, parsed.Node.Limits.AgentSightingsPerSecond);
        Assert.Equal("AMBER", parsed.Peers[0].Outbound.TlpCeiling);
        Assert.Equal(1.0, parsed.Peers[0].Inbound.TrustWeight);
        Assert.Equal("AMBER", parsed.Taxii!.Analysts[0].Clearance);
        Assert.Equal(ConsoleRoles.ReadOnly, parsed.Console!.Operators[0].Role);
        Assert.Equal(30, parsed.Storage!.Postgres!.OutboxLeaseSeconds);
        Assert.Equal(30, parsed.Node.Expiry.DefaultLifetimeDays["ipv4"]);
    }

    [Fact]
    public void Every_field_an_operator_sets_survives_a_save_and_load_unchanged()
    {
        var written = new GatewayConfig
        {
            Node = new NodeConfig
            {
                TrustDomain = "ee.cybercoop", Name = "tallinn", Listen = "127.0.0.1:7501",
                Tls = new TlsConfig { Certificate = "a.crt", Key = "a.key", Root = "r.crt" },
                KeysDirectory = "k", Storage = "s.db", StorageMaxMegabytes = 512, AdminSocket = "x.sock", Suite = "classic",
                MinimumSuite = "classic", ReplayWindowSeconds = 900, MaxClockSkewSeconds = 30,
                Bundle = new BundleConfig { MaxIndicators = 10, LingerMilliseconds = 7 }, MaxHops = 3, TrustBundleRefreshSeconds = 60,
                TrustBundle = "tb.pb", MetricsListen = "127.0.0.1:9100", FirstContact = false,
                KeyRotation = new KeyRotationConfig { AnnounceAheadIntervals = 5, RetiredGraceSeconds = 3600 },
                Expiry = new ExpiryConfig { DefaultLifetimeDays = new Dictionary<string, int> { ["ipv4"] = 3 }, RetentionDays = 9, PruneIntervalSeconds = 60 },
                SightingsReportSeconds = 600,
                Limits = new LimitsConfig { AgentSightingsPerSecond = 1, AgentSightingsBurst = 2, AgentMaxStreams = 3, PeerEnvelopesPerSecond = 4, PeerEnvelopesBurst = 5, PeerMaxStreams = 6, CallerMaxConnections = 7 },
                Reconnect = new ReconnectConfig { MinBackoffMilliseconds = 50, MaxBackoffSeconds = 5, DeniedMaxBackoffSeconds = 60 },
                Keepalive = new KeepaliveConfig { IntervalSeconds = 5, TimeoutSeconds = 2 },
            },
            Peers =
            [
                new PeerConfig
                {
                    Id = "p", TrustDomain = "lv.cybercoop", Address = "https://h:1", Root = "r", RootPin = "sha256:aa", Suite = "hybrid", SightingsBack = "on",
                    Outbound = new OutboundPolicyConfig
                    {
                        TlpCeiling = "RED", AllowRed = true, AllowedTypes = ["ipv4"], MinConfidence = 80, Sectors = ["energy"], BlockedTags = ["b"],
                        RequiredTags = ["r"], Redact = ["context"], EmbargoSeconds = 60, AllowRelay = true,
                    },
                    Inbound = new InboundPolicyConfig { Mode = "quarantine", TrustWeight = 0.5, AllowedTypes = ["domain"], TlpFloor = "GREEN" },
                },
            ],
            TrustedOrigins = [new TrustedOriginConfig { TrustDomain = "fi.cybercoop", Root = "f", RootPin = "sha256:bb" }],
            Taxii = new TaxiiConfig { Listen = "127.0.0.1:1", MaxPageSize = 5, Analysts = [new TaxiiAnalystConfig { Name = "ana", SecretHash = "h", Clearance = "GREEN", CanWrite = true }] },
            Console = new ConsoleConfig { Listen = "127.0.0.1:2", LoopbackOnly = true, Operators = [new ConsoleOperatorConfig { Name = "olga", Role = "operator" }] },
            Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = "Host=db", OutboxLeaseSeconds = 9 } },
        };
        var path = Write(GatewayConfigFile.Serialize(written));

        Assert.Equal(GatewayConfigFile.Serialize(written), GatewayConfigFile.Serialize(GatewayConfigFile.Parse(path)));
    }

    private string Write(string json)
    {
        var path = _dir.Combine("gateway.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static void Collect(JsonTypeInfo type, HashSet<Type> sections)
    {
        if (Nullable.GetUnderlyingType(type.Type) is { } underlying)
        {
            Collect(type.Options.GetTypeInfo(underlying), sections);
            return;
        }

        if (type.Kind == JsonTypeInfoKind.Object && sections.Add(type.Type))
        {
            foreach (var property in type.Properties)
            {
                Collect(type.Options.GetTypeInfo(property.PropertyType), sections);
            }
        }
        else if (type.Kind == JsonTypeInfoKind.Enumerable && type.ElementType is { } element)
        {
            Collect(type.Options.GetTypeInfo(element), sections);
        }
    }
}
