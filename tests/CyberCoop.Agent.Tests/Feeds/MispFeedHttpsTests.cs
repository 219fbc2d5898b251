using System.Threading.Channels;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Feeds;
using CyberCoop.Agent.Parsing;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Tailing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Agent.Tests.Feeds;

/// <summary>
/// The agent's misp-feed source over HTTPS against a real Kestrel server with a certificate from the dev federation's
/// root: conditional polling, only changed events, deletion, TLS refusals and every bad input, with the rest read.
/// </summary>
public sealed class MispFeedHttpsTests(DevFederationFixture federation) : IClassFixture<DevFederationFixture>
{
    private const string A = "5f1c3a2e-1111-4c6b-9a0e-00000000000a";
    private const string B = "5f1c3a2e-2222-4c6b-9a0e-00000000000b";
    private const string C = "5f1c3a2e-3333-4c6b-9a0e-00000000000c";
    private const string D = "5f1c3a2e-4444-4c6b-9a0e-00000000000d";
    private const string E = "5f1c3a2e-5555-4c6b-9a0e-00000000000e";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Root => federation.Layout.Nodes[0].RootCertificate;

    private Task<MispFeedServer> StartServerAsync(string hostName = "localhost") =>
        MispFeedServer.StartAsync(federation.Layout.Nodes[0].RootCertificate, federation.Layout.Nodes[0].RootKey, hostName);

    [Fact]
    public async Task Feed_is_read_over_https_and_an_unchanged_manifest_is_answered_304_with_no_event_fetched_again()
    {
        await using var server = await StartServerAsync();
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000), (B, 1001)));
        server.Put(A + ".json", MispFeedServer.Event(A, 1000, MispFeedServer.Attribute("ip-dst", "198.51.100.7", 1000), MispFeedServer.Attribute("domain", "evil.example", 1000)));
        server.Put(B + ".json", MispFeedServer.Event(B, 1001, MispFeedServer.Attribute("sha256", new string('a', 64), 1001)));
        using var feed = new FeedHarness(server.FeedUrl, Root);

        await feed.PollAsync();
        Assert.Equal(["198.51.100.7", new string('a', 64), "evil.example"], feed.TakeValues().Order(StringComparer.Ordinal));
        Assert.Equal(2, feed.Poller.EventsFetched);

        await feed.PollAsync();
        await feed.PollAsync();
        Assert.Empty(feed.TakeValues());
        Assert.Equal(2, feed.Poller.NotModified);
        Assert.Equal(3, server.Count("manifest.json"));
        Assert.Equal(1, server.Count(A + ".json"));
        Assert.Equal(1, server.Count(B + ".json"));
        var conditional = server.Requests.Where(r => r.Path == "/feed/manifest.json").Skip(1).ToList();
        Assert.All(conditional, r =>
        {
            Assert.Equal(304, r.Status);
            Assert.NotNull(r.IfNoneMatch);
            Assert.NotNull(r.IfModifiedSince);
        });
        Assert.Equal(0, feed.Poller.Failures);
    }

    [Fact]
    public async Task Changed_event_alone_is_fetched_again_and_only_its_new_attributes_are_sent_while_a_deleted_one_is_not()
    {
        await using var server = await StartServerAsync();
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000), (B, 1000)));
        var kept = MispFeedServer.Attribute("ip-dst", "198.51.100.7", 1000);
        var deleted = MispFeedServer.Attribute("domain", "withdrawn.example", 1000);
        server.Put(A + ".json", MispFeedServer.Event(A, 1000, kept, deleted));
        server.Put(B + ".json", MispFeedServer.Event(B, 1000, MispFeedServer.Attribute("url", "https://phish.example/login", 1000)));
        using var feed = new FeedHarness(server.FeedUrl, Root);
        await feed.PollAsync();
        Assert.Equal(3, feed.TakeValues().Count);

        // MISP moves the timestamps of what changed: one attribute deleted, one added, the event and its manifest entry.
        deleted["deleted"] = true;
        deleted["timestamp"] = "2000";
        server.Put(A + ".json", MispFeedServer.Event(A, 2000, kept, deleted, MispFeedServer.Attribute("ip-dst", "203.0.113.9", 2000)));
        server.Put("manifest.json", MispFeedServer.Manifest((A, 2000), (B, 1000)));
        await feed.PollAsync();

        Assert.Equal(["203.0.113.9"], feed.TakeValues());
        Assert.Equal(2, server.Count(A + ".json"));
        Assert.Equal(1, server.Count(B + ".json"));
        Assert.Equal(1, feed.Poller.Diagnostics.Ignored["misp attribute deleted"]);
        Assert.Equal(1, feed.Poller.Diagnostics.Ignored["misp attribute unchanged since the event was last read"]);
        Assert.Equal(2000, feed.Checkpoints[server.FeedUrl + A + ".json"].Offset);
    }

    [Fact]
    public async Task Server_that_ignores_validators_still_gets_no_event_request_for_an_unchanged_manifest()
    {
        await using var server = await StartServerAsync();
        server.HonourValidators = false;
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000)));
        server.Put(A + ".json", MispFeedServer.Event(A, 1000, MispFeedServer.Attribute("ip-dst", "198.51.100.7", 1000)));
        using var feed = new FeedHarness(server.FeedUrl, Root);

        await feed.PollAsync();
        await feed.PollAsync();

        Assert.Equal(["198.51.100.7"], feed.TakeValues());
        Assert.Equal(2, server.Count("manifest.json"));
        Assert.Equal(1, server.Count(A + ".json"));
    }

    [Fact]
    public async Task Bad_events_are_reported_each_with_its_reason_the_good_one_is_read_and_the_failed_ones_are_retried_until_read()
    {
        await using var server = await StartServerAsync();
        server.Put("manifest.json", """
            {
              "5f1c3a2e-1111-4c6b-9a0e-00000000000a": {"info": "good", "timestamp": "1000"},
              "5f1c3a2e-2222-4c6b-9a0e-00000000000b": {"info": "missing on the server", "timestamp": "1000"},
              "5f1c3a2e-3333-4c6b-9a0e-00000000000c": {"info": "too big", "timestamp": "1000"},
              "5f1c3a2e-4444-4c6b-9a0e-00000000000d": {"info": "not JSON", "timestamp": "1000"},
              "5f1c3a2e-5555-4c6b-9a0e-00000000000e": {"info": "another event's file", "timestamp": "1000"},
              "../../etc/passwd": {"info": "path in the name", "timestamp": "1000"},
              "5f1c3a2e-6666-4c6b-9a0e-00000000000f": {"info": "no timestamp"}
            }
            """);
        server.Put(A + ".json", MispFeedServer.Event(A, 1000, MispFeedServer.Attribute("ip-dst", "198.51.100.7", 1000)));
        server.Put(C + ".json", MispFeedServer.Event(C, 1000, MispFeedServer.Attribute("comment", new string('x', 8 * 1024), 1000)));
        server.Put(D + ".json", "{\"Event\": {\"uuid\": ");
        server.Put(E + ".json", MispFeedServer.Event(A, 1000, MispFeedServer.Attribute("ip-dst", "192.0.2.66", 1000)));
        using var feed = new FeedHarness(server.FeedUrl, Root, maxBytes: 4096);

        await feed.PollAsync();

        Assert.Equal(["198.51.100.7"], feed.TakeValues());
        Assert.Equal(4, feed.Poller.Failures);
        var skipped = feed.Poller.Diagnostics.Skipped;
        Assert.Equal(1, skipped["misp manifest entry name is not an event uuid"]);
        Assert.Equal(1, skipped["misp manifest entry without a valid timestamp"]);
        Assert.Equal(1, skipped["misp event uuid differs from the manifest entry it was fetched for"]);
        Assert.DoesNotContain(server.Requests, r => r.Path.Contains("passwd", StringComparison.Ordinal) || r.Path.Contains("..", StringComparison.Ordinal));
        Assert.Null(feed.Checkpoints[server.FeedUrl + "manifest.json"].ETag); // the next poll must not be a 304
        Assert.False(feed.Checkpoints.ContainsKey(server.FeedUrl + B + ".json"));

        // The server is fixed: the next poll reads the failed events and not the good one again.
        server.Put(B + ".json", MispFeedServer.Event(B, 1000, MispFeedServer.Attribute("domain", "late.example", 1000)));
        server.Put(C + ".json", MispFeedServer.Event(C, 1000, MispFeedServer.Attribute("domain", "small.example", 1000)));
        server.Put(D + ".json", MispFeedServer.Event(D, 1000, MispFeedServer.Attribute("domain", "fixed.example", 1000)));
        server.Put(E + ".json", MispFeedServer.Event(E, 1000, MispFeedServer.Attribute("domain", "right.example", 1000)));
        await feed.PollAsync();

        Assert.Equal(["fixed.example", "late.example", "right.example", "small.example"], feed.TakeValues().Order(StringComparer.Ordinal));
        Assert.Equal(1, server.Count(A + ".json"));
        Assert.All(server.Requests.Where(r => r.Path == "/feed/manifest.json"), r => Assert.Null(r.IfNoneMatch));
        Assert.NotNull(feed.Checkpoints[server.FeedUrl + "manifest.json"].ETag);

        await feed.PollAsync();
        Assert.Equal(304, server.Requests[^1].Status);
    }

    [Theory]
    [InlineData("[1, 2, 3]", "not a JSON object")]
    [InlineData("<html>maintenance</html>", "not JSON")]
    [InlineData("{\"feed\": {\"name\": \"x\"}}", "no entry names an event")]
    public async Task Manifest_that_is_not_a_feed_manifest_is_refused_with_the_reason_and_nothing_is_fetched(string manifest, string reason)
    {
        await using var server = await StartServerAsync();
        server.Put("manifest.json", manifest);
        using var feed = new FeedHarness(server.FeedUrl, Root);

        await feed.PollAsync();

        Assert.Equal(1, feed.Poller.Failures);
        Assert.Contains(reason, feed.Poller.LastFailure, StringComparison.Ordinal);
        Assert.Empty(feed.Checkpoints);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Oversized_manifest_is_refused_whether_its_length_is_announced_or_not()
    {
        await using var server = await StartServerAsync();
        var big = MispFeedServer.Manifest([.. Enumerable.Range(0, 100).Select(i => ($"5f1c3a2e-1111-4c6b-9a0e-{i:x12}", 1000L))]);
        server.Put("manifest.json", new MispFeedServer.Served(System.Text.Encoding.UTF8.GetBytes(big), "\"m1\"", DateTimeOffset.UnixEpoch, Chunked: true));
        using var feed = new FeedHarness(server.FeedUrl, Root, maxBytes: 4096);

        await feed.PollAsync();
        Assert.Contains("body larger than maxBytes (4096)", feed.Poller.LastFailure, StringComparison.Ordinal);

        server.Put("manifest.json", new MispFeedServer.Served(System.Text.Encoding.UTF8.GetBytes(big), "\"m2\"", DateTimeOffset.UnixEpoch, DeclaredLength: 1L << 30));
        await feed.PollAsync();
        Assert.Contains("body of 1073741824 bytes is larger than maxBytes (4096)", feed.Poller.LastFailure, StringComparison.Ordinal);

        Assert.Equal(2, feed.Poller.Failures);
        Assert.Empty(feed.Checkpoints);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task Manifest_404_is_a_failure_retried_at_the_next_poll()
    {
        await using var server = await StartServerAsync();
        using var feed = new FeedHarness(server.FeedUrl, Root);

        await feed.PollAsync();
        Assert.Contains("HTTP 404", feed.Poller.LastFailure, StringComparison.Ordinal);

        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000)));
        server.Put(A + ".json", MispFeedServer.Event(A, 1000, MispFeedServer.Attribute("ip-src", "198.51.100.8", 1000)));
        await feed.PollAsync();
        Assert.Equal(["198.51.100.8"], feed.TakeValues());
    }

    [Fact]
    public async Task Server_certificate_from_a_root_other_than_caFile_is_refused_before_any_request()
    {
        await using var server = await StartServerAsync();
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000)));
        using var feed = new FeedHarness(server.FeedUrl, federation.Layout.Nodes[1].RootCertificate);

        await feed.PollAsync();

        Assert.StartsWith("TLS: the server certificate was refused", feed.Poller.LastFailure, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
        Assert.Empty(feed.Checkpoints);
    }

    [Fact]
    public async Task Without_caFile_the_system_store_decides_and_a_private_root_is_refused()
    {
        await using var server = await StartServerAsync();
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000)));
        using var feed = new FeedHarness(server.FeedUrl, caFile: null);

        await feed.PollAsync();

        Assert.StartsWith("TLS: the server certificate was refused", feed.Poller.LastFailure, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Certificate_for_another_host_name_is_refused_even_from_the_trusted_root()
    {
        await using var server = await StartServerAsync(hostName: "feeds.cert.example");
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000)));
        using var feed = new FeedHarness(server.FeedUrl, Root);

        await feed.PollAsync();

        Assert.StartsWith("TLS: the server certificate was refused", feed.Poller.LastFailure, StringComparison.Ordinal);
        Assert.Contains("RemoteCertificateNameMismatch", feed.Poller.LastFailure, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Poller_started_from_saved_progress_sends_validators_and_fetches_no_event_already_read()
    {
        await using var server = await StartServerAsync();
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000)));
        server.Put(A + ".json", MispFeedServer.Event(A, 1000, MispFeedServer.Attribute("ip-dst", "198.51.100.7", 1000)));
        Dictionary<string, FileCheckpoint> saved;
        using (var first = new FeedHarness(server.FeedUrl, Root))
        {
            await first.PollAsync();
            saved = first.Checkpoints.Values.ToDictionary(c => c.Key, StringComparer.Ordinal);
        }

        // A new event appears while the agent is down; the server no longer answers 304 for the old manifest.
        server.Put(B + ".json", MispFeedServer.Event(B, 1500, MispFeedServer.Attribute("ip-dst", "203.0.113.5", 1500)));
        server.Put("manifest.json", MispFeedServer.Manifest((A, 1000), (B, 1500)));
        using var second = new FeedHarness(server.FeedUrl, Root, known: saved);
        await second.PollAsync();

        Assert.Equal(["203.0.113.5"], second.TakeValues());
        Assert.Equal(1, server.Count(A + ".json"));
        Assert.NotNull(server.Requests.Last(r => r.Path == "/feed/manifest.json").IfNoneMatch);
    }

    /// <summary>Drives a <see cref="MispFeedPoller"/> poll by poll and applies its checkpoints as the batcher would.</summary>
    private sealed class FeedHarness : IDisposable
    {
        private readonly Channel<ReadChunk> _channel = Channel.CreateUnbounded<ReadChunk>();

        public FeedHarness(string url, string? caFile, long maxBytes = FeedSettings.DefaultMaxBytes, IReadOnlyDictionary<string, FileCheckpoint>? known = null)
        {
            var source = new SourceSettings
            {
                Name = "misp",
                Path = url,
                Format = SourceFormat.MispFeed,
                Profile = new SourceProfile { Sensor = "misp" },
                Feed = new FeedSettings { BaseUrl = new Uri(url), CaFile = caFile, MaxBytes = maxBytes, Timeout = TimeSpan.FromSeconds(30) },
            };
            Poller = new MispFeedPoller(source, SightingFilter.Default, known ?? new Dictionary<string, FileCheckpoint>(), _channel.Writer, NullLogger.Instance);
        }

        public MispFeedPoller Poller { get; }

        /// <summary>Checkpoints by path, as the state file would hold them.</summary>
        public Dictionary<string, FileCheckpoint> Checkpoints { get; } = new(StringComparer.Ordinal);

        private List<string> Values { get; } = [];

        public async Task PollAsync()
        {
            await Poller.PollOnceAsync(Ct);
            while (_channel.Reader.TryRead(out var chunk))
            {
                Values.AddRange(chunk.Sightings.Select(s => s.Value));
                if (chunk.Checkpoint.Finished)
                {
                    Checkpoints.Remove(chunk.Checkpoint.Path);
                }
                else
                {
                    Checkpoints[chunk.Checkpoint.Path] = chunk.Checkpoint;
                }
            }
        }

        public List<string> TakeValues()
        {
            var values = Values.ToList();
            Values.Clear();
            return values;
        }

        public void Dispose() => Poller.Dispose();
    }
}
