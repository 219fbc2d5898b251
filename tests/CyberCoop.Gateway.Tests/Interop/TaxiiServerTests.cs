using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Cli;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>A real node with its TAXII 2.1 server on loopback, read by a client written from the TAXII specification.</summary>
public sealed class TaxiiServerTests : IAsyncLifetime
{
    private const string AmberSecret = "amber-analyst-secret-0123456789";
    private const string RedSecret = "red-analyst-secret-0123456789ab";
    private const string FiNode = "spiffe://fi.cybercoop/gateway/helsinki";
    private static readonly StixSchemaSet s_schemas = new();
    private readonly TempDirectory _temp = new();
    private DevFederationLayout _federation = null!;
    private GatewayNode _node = null!;

    private DevNode Tallinn => _federation.Nodes[0];

    public async ValueTask InitializeAsync()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
        var now = DateTimeOffset.UtcNow;
        var storePath = await InteropSeed.SeedAsync(Tallinn, now);
        await using (var store = await GatewayStore.OpenAsync(storePath, TimeProvider.System, CancellationToken.None))
        {
            var red = new SightingValidator(TimeProvider.System).Validate(new Sighting
            {
                Type = IndicatorType.Domain, Value = "red.example", Tlp = Tlp.Red, Confidence = 95,
                ObservedAt = Timestamp.FromDateTimeOffset(now), Sensor = "s",
            }, Tallinn.Id, "agent-red");
            await store.CommitIngestAsync("agent-red", new byte[] { 9 }, [red], CancellationToken.None);
            await store.CommitReceivedAsync(new ReceivedEnvelope
            {
                EnvelopeId = new byte[] { 8, 8 },
                Sender = FiNode,
                Origin = FiNode,
                BundleId = new byte[] { 9, 9 },
                Accepted = [InteropSeed.Received(IndicatorType.Url, "https://fi.example/x", now, Tlp.Green, FiNode, "fi.cybercoop")],
            }, CancellationToken.None);
        }

        var config = GatewayConfigFile.Load(Tallinn.ConfigPath).Config;
        var taxii = new TaxiiConfig
        {
            Listen = "127.0.0.1:0",
            MaxPageSize = 5,
            Analysts =
            [
                new TaxiiAnalystConfig { Name = "opencti", SecretHash = SecretHash.Hash(AmberSecret, SecretHash.MinimumIterations) },
                new TaxiiAnalystConfig { Name = "redteam", SecretHash = SecretHash.Hash(RedSecret, SecretHash.MinimumIterations), Clearance = "RED" },
                new TaxiiAnalystConfig { Name = "alice", Clearance = "RED" },
            ],
        };
        GatewayConfigFile.Save(Tallinn.ConfigPath, config with { Taxii = taxii });
        _node = await GatewayNode.StartAsync(Tallinn.ConfigPath, new GatewayNodeOptions { ConfigureLogging = l => l.ClearProviders() }, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _node.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    private TaxiiClient Amber() => new(_node.TaxiiPort!.Value, Tallinn.RootCertificate, user: "opencti", secret: AmberSecret);

    private TaxiiClient Red() => new(_node.TaxiiPort!.Value, Tallinn.RootCertificate, user: "redteam", secret: RedSecret);

    [Fact]
    public async Task Discovery_leads_to_the_api_root_and_the_collections_per_origin()
    {
        using var client = Amber();

        var discovery = await client.GetAsync("/taxii2/");
        Assert.Equal(200, discovery.Status);
        Assert.Equal(TaxiiClient.MediaType, discovery.ContentType.Replace(" ", "", StringComparison.Ordinal));
        var root = new Uri(discovery.Json.GetProperty("api_roots")[0].GetString()!).AbsolutePath;

        var apiRoot = await client.GetAsync(root);
        Assert.Equal(200, apiRoot.Status);
        Assert.Contains(apiRoot.Json.GetProperty("versions").EnumerateArray(), v => v.GetString() == TaxiiClient.MediaType);

        var collections = await client.GetAsync(root + "collections/");
        var titles = collections.Json.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("title").GetString()).ToList();
        Assert.Contains("Our own (ee.cybercoop)", titles);
        Assert.Contains("All received", titles);
        Assert.Contains("Received from fi.cybercoop", titles);
        Assert.Contains("Outbound (share with allies)", titles);
        Assert.All(collections.Json.GetProperty("collections").EnumerateArray(), c =>
        {
            // Read collections, and the write-only outbound one, which this read-only analyst may not write either.
            Assert.Equal(c.GetProperty("title").GetString() != "Outbound (share with allies)", c.GetProperty("can_read").GetBoolean());
            Assert.False(c.GetProperty("can_write").GetBoolean());
        });
    }

    [Fact]
    public async Task Paging_with_limit_and_next_returns_every_object_exactly_once_with_date_headers()
    {
        using var client = Red();
        var own = await CollectionAsync(client, "Our own (ee.cybercoop)");

        var seen = new List<string>();
        string? next = null;
        var pages = 0;
        do
        {
            var page = await client.GetAsync($"{own}objects/?limit=4" + (next is null ? "" : "&next=" + Uri.EscapeDataString(next)));
            Assert.Equal(200, page.Status);
            var objects = page.Json.GetProperty("objects").EnumerateArray().ToList();
            Assert.InRange(objects.Count, 1, 4);
            Assert.True(page.Headers.ContainsKey("X-TAXII-Date-Added-First") && page.Headers.ContainsKey("X-TAXII-Date-Added-Last"));
            Assert.All(objects, o => Assert.Empty(s_schemas.ValidateObject(o)));
            seen.AddRange(objects.Select(o => o.GetProperty("id").GetString()!));
            next = page.Json.GetProperty("more").GetBoolean() ? page.Json.GetProperty("next").GetString() : null;
            pages++;
        }
        while (next is not null);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.True(pages >= 4, $"{pages} pages");
        // 14 own types (13 indicators + 1 vulnerability) + red.example + our identity + AMBER and RED markings.
        Assert.Equal(14 + 1 + 1 + 2, seen.Count);
        var manifest = await AllManifestIdsAsync(client, own);
        Assert.Equal(manifest.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Match_type_match_id_and_added_after_filter_the_objects()
    {
        using var client = Amber();
        var received = await CollectionAsync(client, "All received");

        var indicators = await client.GetAsync($"{received}objects/?match[type]=indicator");
        var list = indicators.Json.GetProperty("objects").EnumerateArray().ToList();
        Assert.Equal(3, list.Count); // lv: domain + ipv4, fi: url
        Assert.All(list, o => Assert.Equal("indicator", o.GetProperty("type").GetString()));

        var id = list[0].GetProperty("id").GetString()!;
        var one = await client.GetAsync($"{received}objects/?match[id]={id}");
        Assert.Equal(id, Assert.Single(one.Json.GetProperty("objects").EnumerateArray()).GetProperty("id").GetString());
        var byPath = await client.GetAsync($"{received}objects/{id}/");
        Assert.Equal(id, Assert.Single(byPath.Json.GetProperty("objects").EnumerateArray()).GetProperty("id").GetString());
        var versions = await client.GetAsync($"{received}objects/{id}/versions/");
        Assert.Equal(list[0].GetProperty("modified").GetString(), Assert.Single(versions.Json.GetProperty("versions").EnumerateArray()).GetString());

        var future = await client.GetAsync($"{received}objects/?added_after={DateTimeOffset.UtcNow.AddDays(1):yyyy-MM-ddTHH:mm:ss.fffZ}");
        Assert.Equal(200, future.Status);
        Assert.False(future.Json.TryGetProperty("objects", out _));
        Assert.False(future.Json.GetProperty("more").GetBoolean());

        var fi = await CollectionAsync(client, "Received from fi.cybercoop");
        var fiObjects = await client.GetAsync($"{fi}objects/?match[type]=indicator");
        Assert.Equal("[url:value = 'https://fi.example/x']", Assert.Single(fiObjects.Json.GetProperty("objects").EnumerateArray()).GetProperty("pattern").GetString());
    }

    [Fact]
    public async Task A_peers_object_of_a_value_also_seen_here_carries_none_of_the_own_sightings_fields()
    {
        using var client = Amber();
        var lv = await CollectionAsync(client, "Received from lv.cybercoop");
        var own = await CollectionAsync(client, "Our own (ee.cybercoop)");

        // evil.example: own sighting (AMBER, tags c2 and cve-2023-4966, description, sector energy) merged with lv's GREEN content.
        var peer = (await AllObjectsAsync(client, lv)).Single(o => o.TryGetProperty("name", out var n) && n.GetString() == "evil.example");
        var ours = (await AllObjectsAsync(client, own)).Single(o => o.TryGetProperty("name", out var n) && n.GetString() == "evil.example");

        Assert.False(peer.TryGetProperty("labels", out _), peer.GetRawText());
        Assert.False(peer.TryGetProperty("description", out _), peer.GetRawText());
        Assert.False(peer.TryGetProperty("x_cybercoop_sectors", out _), peer.GetRawText());
        Assert.False(peer.TryGetProperty("external_references", out _), peer.GetRawText());
        Assert.Equal(90, peer.GetProperty("confidence").GetInt32());
        Assert.Equal(["c2", "cve-2023-4966"], ours.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        // TLP never lowered: lv sent GREEN, the merged record is AMBER, so is lv's object.
        Assert.All(new[] { peer, ours }, o => Assert.Equal("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", o.GetProperty("object_marking_refs")[0].GetString()));
    }

    [Fact]
    public async Task Tlp_red_is_served_only_to_an_analyst_cleared_for_red()
    {
        using var amber = Amber();
        using var red = Red();
        var own = await CollectionAsync(amber, "Our own (ee.cybercoop)");

        var amberIds = await AllManifestIdsAsync(amber, own);
        var redView = await red.GetAsync($"{own}objects/?match[type]=indicator&limit=5000");
        var redObject = (await AllObjectsAsync(red, own)).Single(o => o.GetProperty("name").GetString() == "red.example");
        var redId = redObject.GetProperty("id").GetString()!;

        Assert.Equal(200, redView.Status);
        Assert.DoesNotContain(redId, amberIds);
        Assert.DoesNotContain("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", amberIds);
        Assert.Equal(404, (await amber.GetAsync($"{own}objects/{redId}/")).Status);
        Assert.Equal(200, (await red.GetAsync($"{own}objects/{redId}/")).Status);
    }

    [Fact]
    public async Task An_analyst_certificate_of_the_domain_authenticates_and_other_callers_get_401_or_403_error_bodies()
    {
        var caDir = Path.GetDirectoryName(Tallinn.RootCertificate)!;
        var outDir = Path.Combine(_temp.Path, "analysts");
        var issued = await CliRun.RunAsync("certs", "issue", "--ca-dir", caDir, "--kind", "analyst", "--name", "alice", "--out", outDir);
        Assert.True(issued.ExitCode == 0, issued.ToString());
        Assert.Contains("spiffe://ee.cybercoop/analyst/alice", issued.Output, StringComparison.Ordinal);
        using var alice = X509Certificate2.CreateFromPemFile(Path.Combine(outDir, "alice.crt"), Path.Combine(outDir, "alice.key"));
        using var aliceClient = new TaxiiClient(_node.TaxiiPort!.Value, Tallinn.RootCertificate, X509CertificateLoader.LoadPkcs12(alice.Export(X509ContentType.Pkcs12), null));
        var aliceView = await aliceClient.GetAsync("/cybercoop/collections/");
        Assert.Equal(200, aliceView.Status);

        var agent = Tallinn.Agents[0];
        using var agentCert = X509Certificate2.CreateFromPemFile(agent.Certificate, agent.Key);
        using var agentClient = new TaxiiClient(_node.TaxiiPort!.Value, Tallinn.RootCertificate, X509CertificateLoader.LoadPkcs12(agentCert.Export(X509ContentType.Pkcs12), null));
        AssertError(await agentClient.GetAsync("/cybercoop/collections/"), 403);

        using var anonymous = new TaxiiClient(_node.TaxiiPort!.Value, Tallinn.RootCertificate);
        var noCredentials = await anonymous.GetAsync("/taxii2/");
        AssertError(noCredentials, 401);
        Assert.StartsWith("Basic", noCredentials.Headers["WWW-Authenticate"], StringComparison.Ordinal);

        using var wrong = new TaxiiClient(_node.TaxiiPort!.Value, Tallinn.RootCertificate, user: "opencti", secret: "not-the-secret-at-all");
        AssertError(await wrong.GetAsync("/taxii2/"), 401);
        using var unknown = new TaxiiClient(_node.TaxiiPort!.Value, Tallinn.RootCertificate, user: "mallory", secret: AmberSecret);
        AssertError(await unknown.GetAsync("/taxii2/"), 401);
        using var certOnly = new TaxiiClient(_node.TaxiiPort!.Value, Tallinn.RootCertificate, user: "alice", secret: "");
        AssertError(await certOnly.GetAsync("/taxii2/"), 401);
    }

    [Theory]
    [InlineData("objects/?limit=abc", 400)]
    [InlineData("objects/?limit=0", 400)]
    [InlineData("objects/?added_after=yesterday", 400)]
    [InlineData("objects/?next=!!garbage!!", 400)]
    [InlineData("objects/?match[version]=sometime", 400)]
    [InlineData("objects/?match[type]=", 400)]
    [InlineData("manifest/?limit=-5", 400)]
    [InlineData("objects/indicator--00000000-0000-4000-8000-000000000000/", 404)]
    [InlineData("objects", 404)]
    public async Task Bad_requests_get_a_TAXII_error_body_never_a_500(string relative, int status)
    {
        using var client = Amber();
        var own = await CollectionAsync(client, "Our own (ee.cybercoop)");

        AssertError(await client.GetAsync(own + relative), status);
    }

    [Fact]
    public async Task Unknown_collections_wrong_media_types_and_methods_get_TAXII_error_bodies()
    {
        using var client = Amber();
        var own = await CollectionAsync(client, "Our own (ee.cybercoop)");

        AssertError(await client.GetAsync("/cybercoop/collections/00000000-0000-4000-8000-000000000000/objects/"), 404);
        AssertError(await client.GetAsync("/cybercoop/collections/" + new string('x', 5000) + "/"), 404);
        AssertError(await client.GetAsync(own + "objects/", accept: "text/html"), 406);
        AssertError(await client.GetAsync("/somewhere/else/"), 404);
        using (var post = new HttpRequestMessage(HttpMethod.Post, own + "objects/") { Content = new StringContent("{\"type\":\"bundle\"", System.Text.Encoding.UTF8, "application/taxii+json") })
        {
            AssertError(await client.SendAsync(post), 403);
        }

        using (var delete = new HttpRequestMessage(HttpMethod.Delete, own))
        {
            AssertError(await client.SendAsync(delete), 405);
        }

        Assert.Equal(200, (await client.GetAsync(own + "objects/", accept: "application/taxii+json")).Status);
    }

    internal static void AssertError(TaxiiResponse response, int status)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal(TaxiiClient.MediaType, response.ContentType.Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal(status.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Json.GetProperty("http_status").GetString());
        Assert.False(string.IsNullOrEmpty(response.Json.GetProperty("title").GetString()));
        Assert.DoesNotContain("   at ", response.Json.GetRawText(), StringComparison.Ordinal);
    }

    internal static async Task<string> CollectionAsync(TaxiiClient client, string title)
    {
        var collections = await client.GetAsync("/cybercoop/collections/");
        var id = collections.Json.GetProperty("collections").EnumerateArray().Single(c => c.GetProperty("title").GetString() == title).GetProperty("id").GetString();
        return $"/cybercoop/collections/{id}/";
    }

    private static async Task<List<string>> AllManifestIdsAsync(TaxiiClient client, string collection)
    {
        var ids = new List<string>();
        string? next = null;
        do
        {
            var page = await client.GetAsync(collection + "manifest/" + (next is null ? "" : "?next=" + Uri.EscapeDataString(next)));
            Assert.Equal(200, page.Status);
            if (page.Json.TryGetProperty("objects", out var objects))
            {
                foreach (var o in objects.EnumerateArray())
                {
                    Assert.Equal("application/stix+json;version=2.1", o.GetProperty("media_type").GetString());
                    ids.Add(o.GetProperty("id").GetString()!);
                }
            }

            next = page.Json.GetProperty("more").GetBoolean() ? page.Json.GetProperty("next").GetString() : null;
        }
        while (next is not null);
        return ids;
    }

    internal static async Task<List<JsonElement>> AllObjectsAsync(TaxiiClient client, string collection)
    {
        var all = new List<JsonElement>();
        string? next = null;
        do
        {
            var page = await client.GetAsync(collection + "objects/" + (next is null ? "" : "?next=" + Uri.EscapeDataString(next)));
            all.AddRange(page.Json.GetProperty("objects").EnumerateArray().Select(o => o.Clone()));
            next = page.Json.GetProperty("more").GetBoolean() ? page.Json.GetProperty("next").GetString() : null;
        }
        while (next is not null);
        return all;
    }
}
