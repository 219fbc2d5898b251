using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Tests.Cli;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>
/// The TAXII outbound collection on a real node: an analyst with write permission POSTs a STIX envelope; its
/// indicators become this node's sightings through the agents' ingest path; every other object and every bad request
/// is refused with the reason, and nothing of a refused request is stored.
/// </summary>
public sealed class TaxiiWriteTests : IAsyncLifetime
{
    private const string GreenMarking = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    private readonly TempDirectory _temp = new();
    private DevNode _dev = null!;
    private GatewayNode _node = null!;

    public async ValueTask InitializeAsync()
    {
        _dev = DevFederationFixture.Create(_temp.Path).Nodes[0];
        _node = await TaxiiNode.StartAsync(_dev, TaxiiNode.Analyst("writer", canWrite: true), TaxiiNode.Analyst("reader"));
    }

    public async ValueTask DisposeAsync()
    {
        await _node.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_writer_posts_an_envelope_its_indicators_become_own_sightings_and_each_refused_object_is_named_in_the_status()
    {
        using var writer = TaxiiNode.Client(_node, _dev, "writer");
        var outbound = await TaxiiServerTests.CollectionAsync(writer, "Outbound (share with allies)");
        var resource = await writer.GetAsync(outbound);
        Assert.True(resource.Json.GetProperty("can_write").GetBoolean());
        Assert.False(resource.Json.GetProperty("can_read").GetBoolean());

        var envelope = Envelope(
            Indicator("a", "[domain-name:value = 'Posted.Example']", GreenMarking),
            Indicator("b", "[ipv4-addr:value = '198.51.100.20'] OR [url:value = 'http://posted.example/x']"),
            Indicator("c", "[ipv4-addr:value = '999.1.1.1']"),
            Indicator("d", "[domain-name:value MATCHES '^evil']"),
            Indicator("e", "[domain-name:value = 'unclosed"),
            Indicator("f", "[file:name = 'x.exe'] FOLLOWEDBY [domain-name:value = 'later.example']"),
            Indicator("g", "[domain-name:value = 'revoked.example']", revoked: true),
            new JsonObject { ["type"] = "malware", ["spec_version"] = "2.1", ["id"] = "malware--00000000-0000-4000-8000-000000000001", ["name"] = "x", ["is_family"] = false },
            new JsonObject { ["type"] = "identity", ["spec_version"] = "2.1", ["id"] = "identity--00000000-0000-4000-8000-000000000002", ["name"] = "cert" },
            new JsonObject { ["type"] = "indicator", ["spec_version"] = "2.1", ["pattern"] = "[domain-name:value = 'no-id.example']" });

        var posted = await PostAsync(writer, outbound, envelope);

        Assert.Equal(202, posted.Status);
        var status = posted.Json;
        Assert.Equal("complete", status.GetProperty("status").GetString());
        Assert.Equal(10, status.GetProperty("total_count").GetInt32());
        Assert.Equal(3, status.GetProperty("success_count").GetInt32());
        Assert.Equal(7, status.GetProperty("failure_count").GetInt32());
        Assert.Equal(0, status.GetProperty("pending_count").GetInt32());
        var failures = status.GetProperty("failures").EnumerateArray().ToDictionary(f => f.GetProperty("id").GetString()!, f => f.GetProperty("message").GetString()!);
        // The same validation as an agent's sighting: the same reason the ingest gives.
        var agentReason = new SightingValidator(TimeProvider.System).Validate(new Sighting { Type = IndicatorType.Ipv4, Value = "999.1.1.1" }, _dev.Id, "a").Error!;
        Assert.Contains(agentReason, failures[Id("c")], StringComparison.Ordinal);
        Assert.Contains("pattern not supported", failures[Id("d")], StringComparison.Ordinal);
        Assert.Contains("pattern does not parse", failures[Id("e")], StringComparison.Ordinal);
        Assert.Contains("pattern not supported", failures[Id("f")], StringComparison.Ordinal);
        Assert.Contains("revoked", failures[Id("g")], StringComparison.Ordinal);
        Assert.Contains("type malware: not accepted", failures["malware--00000000-0000-4000-8000-000000000001"], StringComparison.Ordinal);
        Assert.Contains("type and id", failures[""], StringComparison.Ordinal);

        var again = await writer.GetAsync("/cybercoop/status/" + status.GetProperty("id").GetString() + "/");
        Assert.Equal(200, again.Status);
        Assert.Equal(status.GetRawText(), again.Json.GetRawText());

        // Stored as this node's own sightings (own view: in "Our own"), with the posted TLP; AMBER when unmarked.
        var own = await TaxiiServerTests.AllObjectsAsync(writer, await TaxiiServerTests.CollectionAsync(writer, "Our own (ee.cybercoop)"));
        var names = own.Where(o => o.GetProperty("type").GetString() == "indicator").ToDictionary(o => o.GetProperty("name").GetString()!, o => o.GetProperty("object_marking_refs")[0].GetString());
        Assert.Equal(GreenMarking, names["posted.example"]);
        Assert.Equal("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", names["198.51.100.20"]);
        Assert.Contains("http://posted.example/x", names.Keys);
        Assert.DoesNotContain(names.Keys, n => n.Contains("revoked", StringComparison.Ordinal) || n.Contains("later", StringComparison.Ordinal) || n.Contains("no-id", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("wrong-media-type", 415)]
    [InlineData("no-content-type", 415)]
    [InlineData("oversized", 413)]
    [InlineData("malformed-json", 400)]
    [InlineData("not-an-envelope", 400)]
    [InlineData("empty-envelope", 400)]
    [InlineData("read-only-analyst", 403)]
    [InlineData("no-credentials", 401)]
    [InlineData("read-collection", 403)]
    public async Task A_bad_post_gets_a_TAXII_error_body_and_stores_nothing(string bad, int expected)
    {
        using var writer = TaxiiNode.Client(_node, _dev, "writer");
        var outbound = await TaxiiServerTests.CollectionAsync(writer, "Outbound (share with allies)");
        var good = Envelope(Indicator("a", "[domain-name:value = 'must-not-be-stored.example']")).ToJsonString();
        using var reader = TaxiiNode.Client(_node, _dev, "reader");
        using var anonymous = new TaxiiClient(_node.TaxiiPort!.Value, _dev.RootCertificate);
        var (client, path, body, mediaType) = bad switch
        {
            "wrong-media-type" => (writer, outbound, good, "application/json"),
            "no-content-type" => (writer, outbound, good, null),
            "oversized" => (writer, outbound, good.Replace("\"objects\"", "\"padding\":\"" + new string('x', 1_100_000) + "\",\"objects\"", StringComparison.Ordinal), TaxiiClient.MediaType),
            "malformed-json" => (writer, outbound, good[..^3], TaxiiClient.MediaType),
            "not-an-envelope" => (writer, outbound, "[" + good + "]", TaxiiClient.MediaType),
            "empty-envelope" => (writer, outbound, "{\"objects\":[]}", TaxiiClient.MediaType),
            "read-only-analyst" => (reader, outbound, good, TaxiiClient.MediaType),
            "no-credentials" => (anonymous, outbound, good, TaxiiClient.MediaType),
            _ => (writer, await TaxiiServerTests.CollectionAsync(writer, "Our own (ee.cybercoop)"), good, TaxiiClient.MediaType),
        };

        var response = await PostAsync(client, path, body, mediaType);

        TaxiiServerTests.AssertError(response, expected);
        Assert.Null(await _node.Runtime.Store.GetIndicatorAsync(IndicatorIds.Compute(IndicatorType.Domain, "must-not-be-stored.example"), CancellationToken.None));
    }

    [Fact]
    public async Task The_outbound_collection_cannot_be_read_and_a_status_is_visible_only_to_the_analyst_who_posted()
    {
        using var writer = TaxiiNode.Client(_node, _dev, "writer");
        using var reader = TaxiiNode.Client(_node, _dev, "reader");
        var outbound = await TaxiiServerTests.CollectionAsync(writer, "Outbound (share with allies)");
        var posted = await PostAsync(writer, outbound, Envelope(Indicator("a", "[domain-name:value = 'status.example']")));
        var statusPath = "/cybercoop/status/" + posted.Json.GetProperty("id").GetString() + "/";

        TaxiiServerTests.AssertError(await writer.GetAsync(outbound + "objects/"), 403);
        TaxiiServerTests.AssertError(await writer.GetAsync(outbound + "manifest/"), 403);
        TaxiiServerTests.AssertError(await reader.GetAsync(statusPath), 404);
        TaxiiServerTests.AssertError(await writer.GetAsync("/cybercoop/status/not-a-uuid/"), 404);
        Assert.Equal(200, (await writer.GetAsync(statusPath)).Status);
    }

    [Fact]
    public async Task A_status_resource_survives_a_restart_of_the_node_and_stays_visible_only_to_its_poster()
    {
        string statusPath, before;
        using (var writer = TaxiiNode.Client(_node, _dev, "writer"))
        {
            var outbound = await TaxiiServerTests.CollectionAsync(writer, "Outbound (share with allies)");
            var posted = await PostAsync(writer, outbound, Envelope(Indicator("a", "[domain-name:value = 'restart.example']"), Indicator("b", "[file:name = 'x']")));
            statusPath = "/cybercoop/status/" + posted.Json.GetProperty("id").GetString() + "/";
            before = posted.Json.GetRawText();
        }

        await _node.DisposeAsync();
        _node = await TaxiiNode.StartAsync(_dev, TaxiiNode.Analyst("writer", canWrite: true), TaxiiNode.Analyst("reader"));

        using var writerAfter = TaxiiNode.Client(_node, _dev, "writer");
        using var readerAfter = TaxiiNode.Client(_node, _dev, "reader");
        var again = await writerAfter.GetAsync(statusPath);
        Assert.Equal(200, again.Status);
        Assert.Equal(before, again.Json.GetRawText());
        Assert.Equal(1, again.Json.GetProperty("success_count").GetInt32());
        TaxiiServerTests.AssertError(await readerAfter.GetAsync(statusPath), 404);
    }

    private static string Id(string suffix) => "indicator--00000000-0000-4000-8000-" + suffix.PadLeft(12, '0');

    private static JsonObject Indicator(string suffix, string pattern, string? marking = null, bool revoked = false)
    {
        var indicator = new JsonObject
        {
            ["type"] = "indicator",
            ["spec_version"] = "2.1",
            ["id"] = Id(suffix),
            ["created"] = "2026-12-01T10:00:00.000Z",
            ["modified"] = "2026-12-01T10:00:00.000Z",
            ["pattern"] = pattern,
            ["pattern_type"] = "stix",
            ["valid_from"] = "2026-12-01T10:00:00.000Z",
            ["confidence"] = 75,
        };
        if (marking is not null)
        {
            indicator["object_marking_refs"] = new JsonArray(marking);
        }

        if (revoked)
        {
            indicator["revoked"] = true;
        }

        return indicator;
    }

    private static JsonObject Envelope(params JsonObject[] objects) => new() { ["objects"] = new JsonArray([.. objects]) };

    private static Task<TaxiiResponse> PostAsync(TaxiiClient client, string collection, JsonObject envelope) =>
        PostAsync(client, collection, envelope.ToJsonString(), TaxiiClient.MediaType);

    private static async Task<TaxiiResponse> PostAsync(TaxiiClient client, string path, string body, string? mediaType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path.EndsWith("objects/", StringComparison.Ordinal) ? path : path + "objects/");
        request.Headers.TryAddWithoutValidation("Accept", TaxiiClient.MediaType);
        // As a careful client uploads: the server may refuse from the headers (413, 415, 401, 403) before the body is
        // sent, instead of closing the connection under a body it will not read.
        request.Headers.ExpectContinue = true;
        request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (mediaType is not null)
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        }

        return await client.SendAsync(request);
    }
}
