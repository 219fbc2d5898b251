using System.Security.Cryptography;
using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Property (issue 13, item 1): whatever a peer sent about a value, and in whatever order it was merged with this node's
/// own sightings, the bundle this node originates for a non-relay recipient carries only what its own agents reported.
/// Each generated case runs the real path on a real node: own sightings through ingest validation and the store's ingest
/// commit, peer content through the store's receive commit (its observations may even claim this node's id or none),
/// then the change feed and the dispatcher's plan with a generated outbound policy, signed as the origin.
/// </summary>
public sealed class OriginViewPropertyTests : IAsyncLifetime
{
    // Every peer-only value is drawn from a universe own sightings never use: "peer-" labels and text, timestamps at
    // 17 seconds past the minute (own ones are at whole minutes), a sensor name of its own.
    private static readonly DateTimeOffset Base = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60).AddDays(-10);
    private static readonly Tlp[] Markings = [Tlp.Clear, Tlp.Green, Tlp.Amber, Tlp.AmberStrict, Tlp.Red];

    private TestFederation _f = null!;
    private int _case;
    private int _receivedOnly;
    private int _withheld;
    private int _shared;
    private int _mergedWouldDecideOtherwise;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("fi", "lv");
        _f.Peer("fi", "lv");
        await _f.StartAsync("fi");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    /// <summary>One sighting of the case's value: by this node's agent, or content received from the peer.</summary>
    public sealed record Event(bool FromPeer, int Confidence, int Marking, int SeenMinutes, int? ValidDays, int Label, bool Described, int Context, int PeerNode);

    /// <summary>A case: the events in commit order and the outbound policy towards the recipient.</summary>
    public sealed record Scenario(IReadOnlyList<Event> Events, int MinConfidence, int Ceiling, bool RequireOwnTag, bool BlockPeerTag, string Redact)
    {
        public override string ToString() =>
            $"min {MinConfidence}, ceiling {Markings[Ceiling]}, require own tag {RequireOwnTag}, block peer tag {BlockPeerTag}, redact [{Redact}]; " +
            string.Join("; ", Events);
    }

    private static Gen<Event> Events() =>
        from fromPeer in Gen.Elements(true, false)
        from confidence in Gen.Choose(0, 100)
        from marking in Gen.Choose(0, 4)
        from seen in Gen.Choose(0, 5000)
        from valid in Gen.Frequency((1, Gen.Constant<int?>(null)), (2, Gen.Choose(1, 400).Select(d => (int?)d)))
        from label in Gen.Choose(0, 3)
        from described in Gen.Elements(true, false)
        from context in Gen.Choose(0, 3)
        from peerNode in Gen.Choose(0, 2)
        select new Event(fromPeer, confidence, marking, seen, valid, label, described, context, peerNode);

    private static Gen<Scenario> Scenarios() =>
        from events in Gen.Choose(1, 6).SelectMany(n => Gen.ListOf(Events(), n))
        from min in Gen.Choose(0, 100)
        from ceiling in Gen.Choose(0, 4)
        from requireOwn in Gen.Elements(true, false)
        from blockPeer in Gen.Elements(true, false)
        from redact in Gen.Elements("", "sensor,context", "count,node", "description,tags")
        select new Scenario([.. events], min, ceiling, requireOwn, blockPeer, redact);

    [Fact]
    public void No_value_only_a_peer_sent_reaches_the_bundle_originated_for_a_non_relay_recipient()
    {
        var property = Prop.ForAll(Scenarios().ToArbitrary(), scenario => Task.Run(() => CheckAsync(scenario)).GetAwaiter().GetResult());

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);

        // The generated cases cover every outcome, and many where the merged record would have been decided otherwise.
        Assert.True(_receivedOnly >= 5, $"{_receivedOnly} received-only cases");
        Assert.True(_withheld >= 20, $"{_withheld} withheld cases");
        Assert.True(_shared >= 20, $"{_shared} shared cases");
        Assert.True(_mergedWouldDecideOtherwise >= 10, $"{_mergedWouldDecideOtherwise} cases where the merged record is decided otherwise");
    }

    private async Task<bool> CheckAsync(Scenario scenario)
    {
        var ct = CancellationToken.None;
        var runtime = _f["fi"].Node!.Runtime;
        var self = runtime.Identity.IdText;
        var value = $"case-{Interlocked.Increment(ref _case)}-{Guid.NewGuid():n}.example";
        var id = IndicatorIds.Compute(IndicatorType.Domain, value);
        var validator = new SightingValidator(TimeProvider.System);
        var cursor = (await runtime.Store.ReadLocalChangesAsync(0, int.MaxValue, ct)).Select(c => c.Seq).DefaultIfEmpty(0).Max();

        Indicator? expected = null;
        var peerMarkers = new List<string>();
        var peerTimes = new HashSet<Timestamp>();
        for (var i = 0; i < scenario.Events.Count; i++)
        {
            var e = scenario.Events[i];
            if (e.FromPeer)
            {
                var indicator = PeerIndicator(e, id, value, self, i);
                peerMarkers.AddRange(indicator.Tags);
                peerMarkers.AddRange(indicator.Sectors);
                // (A forged observation's sensor is this node's own sensor name: not a peer-only value.)
                peerMarkers.AddRange(indicator.Observations.SelectMany(o => o.Context.Keys.Concat(o.Context.Values).Append(e.PeerNode == 1 ? "" : o.Sensor)));
                peerMarkers.Add(indicator.Description);
                peerMarkers.Add(indicator.OriginDomain);
                peerTimes.UnionWith(new[] { indicator.FirstSeen, indicator.LastSeen, indicator.ValidUntil }.OfType<Timestamp>());
                await runtime.Store.CommitReceivedAsync(new ReceivedEnvelope
                {
                    EnvelopeId = RandomNumberGenerator.GetBytes(16),
                    Sender = "spiffe://ee.cybercoop/gateway/gw-ee",
                    Origin = "spiffe://ee.cybercoop/gateway/gw-ee",
                    BundleId = RandomNumberGenerator.GetBytes(16),
                    Accepted = [indicator],
                }, ct);
                continue;
            }

            var outcome = validator.Validate(OwnSighting(e, value), self, "sensor-1");
            Assert.True(outcome.IsValid, outcome.Error);
            // The model: the merge of this node's own sightings, and of nothing else.
            expected = expected is null ? outcome.Indicator : IndicatorMerger.Merge(expected, outcome.Indicator);
            await runtime.Store.CommitIngestAsync("spiffe://fi.cybercoop/agent/sensor-1", RandomNumberGenerator.GetBytes(16), [outcome], ct);
        }

        var feed = (await runtime.Store.ReadLocalChangesAsync(cursor, int.MaxValue, ct)).Where(c => c.Indicator.Id == id).Select(c => c.Indicator).ToList();
        var view = await runtime.Store.GetOwnViewAsync(id, ct);
        if (expected is null)
        {
            // Received only: this node is not an origin for it at all.
            Assert.Empty(feed);
            Assert.Null(view);
            Interlocked.Increment(ref _receivedOnly);
            return true;
        }

        Assert.Equal(expected, Assert.Single(feed));
        Assert.Equal(expected, view);

        var policy = new OutboundPolicy
        {
            TlpCeiling = Markings[scenario.Ceiling],
            AllowRed = Markings[scenario.Ceiling] == Tlp.Red,
            MinConfidence = scenario.MinConfidence,
            RequiredTags = scenario.RequireOwnTag ? ["own-1"] : [],
            BlockedTags = scenario.BlockPeerTag ? ["peer-1"] : [],
            Redact = scenario.Redact.Length == 0 ? [] : scenario.Redact.Split(','),
        };
        var peer = runtime.Trust.Peers[_f["lv"].GatewayId] with { Outbound = policy };
        var dispatcher = _f["fi"].Node!.Services.GetRequiredService<OutboundDispatcher>();
        var plan = dispatcher.Plan(peer, Suite.X25519Aes256GcmEd25519, feed, 1000);

        // The decision is the one the policy takes on the own view.
        var reason = OutboundPolicyEvaluator.Decide(expected, policy, DateTimeOffset.UtcNow, out _);
        var merged = await runtime.Store.GetIndicatorAsync(id, ct);
        if (OutboundPolicyEvaluator.Decide(merged!, policy, DateTimeOffset.UtcNow, out _) != reason)
        {
            Interlocked.Increment(ref _mergedWouldDecideOtherwise);
        }

        if (reason != OutboundDecision.SharedReason)
        {
            Interlocked.Increment(ref _withheld);
            Assert.Empty(plan.Outbox);
            Assert.Single(plan.Audit, a => a.Decision == "withheld" && a.Reason == reason && a.DetailsJson.Contains(id, StringComparison.Ordinal));
            return true;
        }

        Interlocked.Increment(ref _shared);
        var item = Assert.Single(plan.Outbox);
        var bundle = Bundle.Parser.ParseFrom(SignedBundle.Parser.ParseFrom(item.EnvelopeBytes).Bundle);
        Assert.False(bundle.RelayAllowed);
        Assert.Equal(self, bundle.Origin);
        var sent = Assert.Single(bundle.Indicators);
        Assert.Equal(OutboundPolicyEvaluator.Redact(expected, policy.Redact), sent);

        // And independently of the model: no string and no timestamp that only the peer sent is in what leaves.
        var text = Encoding.UTF8.GetString(sent.ToByteArray());
        foreach (var marker in peerMarkers.Where(m => m.Length > 0))
        {
            Assert.DoesNotContain(marker, text, StringComparison.Ordinal);
        }

        var sentTimes = new[] { sent.FirstSeen, sent.LastSeen, sent.ValidUntil }
            .Concat(sent.Observations.SelectMany(o => new[] { o.FirstSeen, o.LastSeen })).OfType<Timestamp>();
        Assert.DoesNotContain(sentTimes, peerTimes.Contains);
        Assert.All(sent.Observations, o => Assert.True(o.Node == self || o.Node.Length == 0));
        Assert.Equal("fi.cybercoop", sent.OriginDomain);
        return true;
    }

    private static Sighting OwnSighting(Event e, string value)
    {
        var seen = Base.AddMinutes(e.SeenMinutes);
        var sighting = new Sighting
        {
            Type = IndicatorType.Domain,
            Value = value,
            Tlp = Markings[e.Marking],
            Confidence = (uint)e.Confidence,
            ObservedAt = Timestamp.FromDateTimeOffset(seen),
            ValidUntil = e.ValidDays is { } days ? Timestamp.FromDateTimeOffset(seen.AddDays(days)) : null,
            Description = e.Described ? "own analyst note" : "",
            Sensor = "own-ids-" + e.Context,
            Count = 1,
            Tags = { "own-" + e.Label },
            Sectors = { "own-sector-" + e.Label },
            Context = { ["own-key-" + e.Context] = "own-value-" + e.Label },
        };
        return sighting;
    }

    private static Indicator PeerIndicator(Event e, string id, string value, string self, int index)
    {
        var seen = Timestamp.FromDateTimeOffset(Base.AddMinutes(e.SeenMinutes).AddSeconds(17));
        var indicator = new Indicator
        {
            Id = id,
            Type = IndicatorType.Domain,
            Value = value,
            Tlp = Markings[e.Marking],
            Confidence = (uint)e.Confidence,
            FirstSeen = seen,
            LastSeen = seen,
            ValidUntil = e.ValidDays is { } days ? Timestamp.FromDateTimeOffset(Base.AddMinutes(e.SeenMinutes).AddDays(days).AddSeconds(17)) : null,
            Description = e.Described ? $"peer analyst note {index}" : "",
            OriginDomain = "ee.cybercoop",
            Tags = { "peer-" + e.Label },
            Sectors = { "peer-sector-" + e.Label },
        };
        // The peer's observation names the peer, claims to be this node's own (a forged or confused node id, with the
        // sensor name this node's agent uses), or names no node at all (redacted).
        var observation = new Observation
        {
            Node = e.PeerNode switch { 0 => "spiffe://ee.cybercoop/gateway/gw-ee", 1 => self, _ => "" },
            Sensor = e.PeerNode == 1 ? "sensor-1/own-ids-" + e.Context : "peer-ids",
            Count = 2,
            Confidence = (uint)e.Confidence,
            FirstSeen = seen,
            LastSeen = seen,
        };
        observation.Context["peer-key-" + e.Context] = "peer-value-" + index;
        indicator.Observations.Add(observation);
        return indicator;
    }
}
