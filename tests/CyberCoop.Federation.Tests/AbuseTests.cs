using System.Collections.Concurrent;
using System.Diagnostics;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Abuse resistance (threat model 5.6) on real gateways: one agent certificate opening 200 streams and pushing flat out
/// is held to its own limits (RESOURCE_EXHAUSTED naming the limit and the caller, audited in aggregate, counted), and
/// another agent's sightings and the peers' exchange go on with nothing lost.
/// </summary>
public sealed class AbuseTests : IAsyncLifetime
{
    private const int HostileStreams = 200;
    private const int HostileBatch = 2_500;
    private const int GoodSightings = 2_000;
    private const int GoodBatch = 500;

    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        // A rate below what this machine can ingest, so the rate limit (not the CPU) is what holds the hostile agent.
        _f["ee"].EditNode(n => n with { Limits = new LimitsConfig { AgentSightingsPerSecond = 500, AgentSightingsBurst = 5_000, AgentMaxStreams = 8 } });
        await _f.StartAsync();
        await WaitUntilAsync(() => Task.FromResult(_f["fi"].Node!.Streams.StreamsOf(_f["ee"].GatewayId) == 1), "ee's exchange stream to fi is open");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task One_agent_certificate_with_200_streams_is_refused_and_another_agent_loses_nothing()
    {
        var ee = _f["ee"].Node!;
        var limits = ee.Services.GetRequiredService<CallerLimits>();
        using var hostileCertificate = _f.IssueAgent("ee", "hostile");
        var hostileId = $"spiffe://{_f["ee"].Domain}/agent/hostile";
        var goodId = $"spiffe://{_f["ee"].Domain}/agent/sensor-1";

        // Baseline: the good agent alone (after a warm-up run).
        await GoodAgentRunAsync("warm", GoodBatch);
        var baseline = await GoodAgentRunAsync("baseline", GoodSightings);

        // The hostile agent opens 200 streams on as many connections as it needs, pushes batches flat out on each, and
        // re-opens every stream it loses.
        var hostileClient = _f.IngestClient("ee", hostileCertificate, multipleConnections: true);
        var templates = Enumerable.Range(0, 8).Select(t => HostileTemplate(t)).ToList();
        var refusals = new ConcurrentQueue<RpcException>();
        var dropped = new ConcurrentQueue<Exception>();
        var unexpected = new ConcurrentQueue<Exception>();
        using var stopHostile = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var hostile = Enumerable.Range(0, HostileStreams)
            .Select(_ => Task.Run(() => HostileStreamAsync(hostileClient, templates, refusals, dropped, unexpected, stopHostile.Token)))
            .ToList();
        long Refused(string limit) => limits.Refused.TryGetValue((limit, hostileId), out var n) ? n : 0;
        await WaitUntilAsync(() => Task.FromResult(Refused(CallerLimits.AgentMaxStreams) >= HostileStreams && Refused(CallerLimits.AgentSightingsPerSecond) > 0),
            "the hostile agent hit both its stream quota and its rate", TimeSpan.FromSeconds(90));
        TestContext.Current.TestOutputHelper?.WriteLine($"hostile hit its limits after {clock.Elapsed.TotalSeconds:F1} s");

        var underAttack = await GoodAgentRunAsync("attack", GoodSightings);
        await stopHostile.CancelAsync();
        await Task.WhenAll(hostile);
        var attackSeconds = clock.Elapsed.TotalSeconds;

        // A control run after the attack: the machine's own drift (other load) shows as after/before, the attack's cost
        // as attack / mean(before, after).
        var after = await GoodAgentRunAsync("after", GoodSightings);
        var ingestRatio = underAttack.Ingest.TotalSeconds / ((baseline.Ingest.TotalSeconds + after.Ingest.TotalSeconds) / 2);
        var exchangeRatio = underAttack.Delivered.TotalSeconds / ((baseline.Delivered.TotalSeconds + after.Delivered.TotalSeconds) / 2);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"good agent, {GoodSightings} sightings: ingest {baseline.Ingest.TotalMilliseconds:F0} ms before, {underAttack.Ingest.TotalMilliseconds:F0} ms " +
            $"under attack, {after.Ingest.TotalMilliseconds:F0} ms after (x{ingestRatio:F2}); at the peer {baseline.Delivered.TotalMilliseconds:F0} ms before, " +
            $"{underAttack.Delivered.TotalMilliseconds:F0} ms under attack, {after.Delivered.TotalMilliseconds:F0} ms after (x{exchangeRatio:F2}); " +
            $"hostile refused {refusals.Count} times, {dropped.Count} connections closed by the server " +
            $"({Refused(CallerLimits.AgentMaxStreams)} streams over quota, {Refused(CallerLimits.AgentSightingsPerSecond)} over rate), " +
            $"{limits.Delayed} messages delayed, over {attackSeconds:F1} s");

        // The hostile streams were refused with RESOURCE_EXHAUSTED naming the limit and the caller (or lost their connection,
        // which Kestrel closes after too many refused streams on it), and nothing else went wrong.
        Assert.Empty(unexpected);
        Assert.Contains(refusals, r => r.Status.Detail.StartsWith(CallerLimits.AgentMaxStreams + ": " + hostileId, StringComparison.Ordinal));
        Assert.Contains(refusals, r => r.Status.Detail.StartsWith(CallerLimits.AgentSightingsPerSecond + ": " + hostileId, StringComparison.Ordinal));
        Assert.All(refusals, r => Assert.Equal(StatusCode.ResourceExhausted, r.StatusCode));

        // What the hostile agent stored stayed within its rate (plus one burst).
        var hostileStored = ee.Runtime.Metrics.SightingsIngested - (3L * GoodSightings) - GoodBatch;
        Assert.InRange(hostileStored, 0, (long)((limits.Current.AgentSightingsPerSecond * clock.Elapsed.TotalSeconds) + limits.Current.AgentSightingsBurst));

        // The audit shows the limit, in aggregate: a few entries for thousands of refusals, none for the good agent.
        var entries = new List<Gateway.Storage.AuditEntry>();
        await WaitUntilAsync(async () =>
        {
            entries.Clear();
            await foreach (var entry in ee.Runtime.Store.Audit.TailAsync(100_000, CancellationToken.None))
            {
                if (entry.Kind == "rate-limited")
                {
                    entries.Add(entry);
                }
            }

            return entries.Any(e => e.Actor == hostileId && e.Decision == "refused" && e.Subject == "/cybercoop.v1.Ingest/Submit"
                && e.Reason.Contains(CallerLimits.AgentMaxStreams, StringComparison.Ordinal));
        }, "the stream quota refusal is audited");
        // The good agent is never refused. It may be slowed: its three timed runs send 6,000 sightings, more than the
        // 5,000 burst at 500/s, so on a fast machine its stream is delayed to the rate, as documented (decision 'delayed').
        Assert.DoesNotContain(entries, e => e.Actor == goodId && e.Decision != "delayed");
        var windows = 1 + (int)Math.Ceiling(attackSeconds / CallerLimits.AuditWindow.TotalSeconds);
        Assert.InRange(entries.Count(e => e.Actor == hostileId), 1, 3 * windows);
        Assert.True(refusals.Count > 10 * 3 * windows, $"{refusals.Count} refusals");

        // Counted in the node's meter.
        Assert.True(ReadRefusedMetric(ee, hostileId) >= Refused(CallerLimits.AgentMaxStreams));
    }

    [Fact]
    public async Task A_peer_beyond_its_stream_quota_is_refused_and_its_envelopes_are_slowed_to_its_rate_without_loss()
    {
        // fi allows each peer 2 streams and 4 envelopes/s with a burst of 2; ee's forwarder already holds one stream.
        await _f.StopAsync("fi");
        _f["fi"].EditNode(n => n with { Limits = new LimitsConfig { PeerMaxStreams = 2, PeerEnvelopesPerSecond = 4, PeerEnvelopesBurst = 2 } });
        await _f.StartAsync("fi");
        var fi = _f["fi"].Node!;
        var eeId = _f["ee"].GatewayId;
        await WaitUntilAsync(() => Task.FromResult(fi.Streams.StreamsOf(eeId) == 1), "ee's forwarder reconnected to fi");
        var crafter = new CraftedEnvelopes(_f, "ee", "fi");
        var crafted = new List<CraftedEnvelopes.Crafted>();
        for (var i = 0; i < 12; i++)
        {
            crafted.Add(await crafter.CraftAsync(indicators: 2));
        }

        // A second stream of ee is admitted; a third is refused with RESOURCE_EXHAUSTED naming the limit and the peer.
        using var certificate = _f.LoadCertificate("ee", "gateway");
        using var held = _f.FederationClient("fi", certificate).Exchange();
        await held.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = eeId } });
        await WaitUntilAsync(() => Task.FromResult(fi.Streams.StreamsOf(eeId) == 2), "the second stream is open");
        var refused = await Assert.ThrowsAsync<RpcException>(() => crafter.ExchangeAsync([crafter.Seal(crafted[0])]));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.StartsWith($"{CallerLimits.PeerMaxStreams}: {eeId} already has 2 streams open", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await fi.Runtime.Store.GetIndicatorAsync(crafted[0].IndicatorIds[0], CancellationToken.None));

        // With the slot free again, 12 envelopes on one stream are all accepted, no faster than 4/s after the burst of 2.
        await held.RequestStream.CompleteAsync();
        held.Dispose();
        await WaitUntilAsync(() => Task.FromResult(fi.Streams.StreamsOf(eeId) == 1), "the second stream is closed");
        var clock = Stopwatch.StartNew();
        var acks = await crafter.ExchangeAsync(crafted.Select(c => crafter.Seal(c)).ToList());
        clock.Stop();

        Assert.Equal(12, acks.Count);
        Assert.All(acks, a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds((12 - 2 - 1) / 4.0), $"12 envelopes took {clock.Elapsed.TotalMilliseconds:F0} ms");
        foreach (var id in crafted.SelectMany(c => c.IndicatorIds))
        {
            Assert.NotNull(await fi.Runtime.Store.GetIndicatorAsync(id, CancellationToken.None));
        }

        var limits = fi.Services.GetRequiredService<CallerLimits>();
        Assert.True(limits.Delayed > 0);
        await WaitUntilAsync(async () =>
        {
            var refusedSeen = false;
            var delayedSeen = false;
            await foreach (var entry in fi.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                refusedSeen |= entry is { Kind: "rate-limited", Decision: "refused" } && entry.Actor == eeId && entry.Reason.StartsWith(CallerLimits.PeerMaxStreams, StringComparison.Ordinal);
                delayedSeen |= entry is { Kind: "rate-limited", Decision: "delayed" } && entry.Actor == eeId && entry.Reason.StartsWith(CallerLimits.PeerEnvelopesPerSecond, StringComparison.Ordinal);
            }

            return refusedSeen && delayedSeen;
        }, "the stream refusal and the slowed envelopes are audited at fi");
    }

    /// <summary>
    /// The good agent as the real agent sends: one stream, one batch at a time, each waiting for its result. Returns how
    /// long ingest took and how long until every sighting was at the peer. Every sighting must be accepted.
    /// </summary>
    private async Task<(TimeSpan Ingest, TimeSpan Delivered)> GoodAgentRunAsync(string run, int sightings)
    {
        var values = Enumerable.Range(0, sightings).Select(i => $"good-{run}-{i}.example").ToList();
        using var probeStop = new CancellationTokenSource();
        var probe = Task.Run(() => ProbeAsync(run, probeStop.Token), CancellationToken.None);
        var clock = Stopwatch.StartNew();
        using (var call = _f.IngestClient("ee").Submit())
        {
            foreach (var chunk in values.Chunk(GoodBatch))
            {
                var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8($"{run}-{chunk[0]}") };
                batch.Sightings.Add(chunk.Select(v => Sighting(IndicatorType.Domain, v)));
                await call.RequestStream.WriteAsync(batch);
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                Assert.All(call.ResponseStream.Current.Items, item => Assert.Equal(ItemOutcome.Accepted, item.Outcome));
            }

            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        }

        var ingest = clock.Elapsed;
        await probeStop.CancelAsync();
        await probe;
        var missing = new HashSet<string>(values, StringComparer.Ordinal);
        await WaitUntilAsync(async () =>
        {
            foreach (var value in missing.ToList())
            {
                if (await _f.GetAsync("fi", IndicatorType.Domain, value) is not null)
                {
                    missing.Remove(value);
                }
            }

            return missing.Count == 0;
        }, $"fi has all {sightings} sightings of run {run}", TimeSpan.FromSeconds(120));
        var delivered = clock.Elapsed;
        foreach (var value in values)
        {
            Assert.NotNull(await _f.GetAsync("ee", IndicatorType.Domain, value));
        }

        return (ingest, delivered);
    }

    /// <summary>Measurement only: thread-pool scheduling delay, writer round trip and process CPU while a run lasts.</summary>
    private async Task ProbeAsync(string run, CancellationToken ct)
    {
        var db = _f["ee"].Node!.Runtime.Store.Database!;
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var groups0 = db.GroupsCommitted;
        var writes0 = db.WritesCommitted;
        var busy0 = db.CommitTime;
        var pool = new List<double>();
        var writer = new List<double>();
        while (!ct.IsCancellationRequested)
        {
            var sw = Stopwatch.StartNew();
            var started = await Task.Run(() => sw.Elapsed.TotalMilliseconds, CancellationToken.None);
            pool.Add(started);
            sw.Restart();
            await db.WriteAsync(static (_, _) => 0, CancellationToken.None);
            writer.Add(sw.Elapsed.TotalMilliseconds);
            try
            {
                await Task.Delay(50, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds / wall.Elapsed.TotalMilliseconds;
        static string Stat(List<double> v) => v.Count == 0 ? "-" : $"mean {v.Average():F1} p50 {v.Order().ElementAt(v.Count / 2):F1} max {v.Max():F1} ms (n {v.Count})";
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"probe {run}: pool delay {Stat(pool)}; empty write round trip {Stat(writer)}; process cpu {cpu:F2} cores; " +
            $"writer busy {(db.CommitTime - busy0).TotalMilliseconds / wall.Elapsed.TotalMilliseconds:P0}; groups {db.GroupsCommitted - groups0} writes {db.WritesCommitted - writes0}; threads {ThreadPool.ThreadCount} pending {ThreadPool.PendingWorkItemCount}; load {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static IngestBatch HostileTemplate(int template)
    {
        var batch = new IngestBatch();
        var seen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        for (var i = 0; i < HostileBatch; i++)
        {
            batch.Sightings.Add(new Sighting { Type = IndicatorType.Domain, Value = $"flood-{template}-{i}.example", Tlp = Tlp.Amber, Confidence = 50, ObservedAt = seen, Count = 1 });
        }

        return batch;
    }

    /// <summary>One hostile stream: writes batches (fresh ids) as fast as the server reads them; re-opens when refused.</summary>
    private static async Task HostileStreamAsync(Ingest.IngestClient client, IReadOnlyList<IngestBatch> templates, ConcurrentQueue<RpcException> refusals,
        ConcurrentQueue<Exception> dropped, ConcurrentQueue<Exception> unexpected, CancellationToken ct)
    {
        var next = Random.Shared.Next(templates.Count);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var call = client.Submit(cancellationToken: ct);
                var results = Task.Run(async () =>
                {
                    while (await call.ResponseStream.MoveNext(ct))
                    {
                    }
                }, CancellationToken.None);
                try
                {
                    while (!results.IsCompleted)
                    {
                        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
                        batch.Sightings.Add(templates[next++ % templates.Count].Sightings);
                        await call.RequestStream.WriteAsync(batch, ct);
                    }
                }
                catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
                {
                    // The call ended; its status comes from the response stream.
                }

                await results;
                unexpected.Enqueue(new InvalidOperationException("a hostile stream ended without a status"));
                return;
            }
            catch (Exception ex) when (ex is RpcException { StatusCode: StatusCode.ResourceExhausted } || IsConnectionClosed(ex))
            {
                if (ex is RpcException { StatusCode: StatusCode.ResourceExhausted } refusal)
                {
                    refusals.Enqueue(refusal);
                }
                else
                {
                    dropped.Enqueue(ex);
                }

                try
                {
                    // The attacker keeps its 200 streams: each refused one is opened again a second later.
                    await Task.Delay(1_000, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                unexpected.Enqueue(ex);
                return;
            }
        }
    }

    /// <summary>The server closed the HTTP/2 connection under the stream (a transport error, not a gRPC status from the handler).</summary>
    private static bool IsConnectionClosed(Exception ex) => ex is HttpRequestException or IOException
        || (ex is RpcException { StatusCode: StatusCode.Internal or StatusCode.Unavailable } rpc && rpc.Status.DebugException is HttpRequestException or IOException);

    /// <summary>cybercoop.limits.refused for <paramref name="caller"/> as an exporter reads it from the node's meter.</summary>
    private static long ReadRefusedMetric(GatewayNode node, string caller)
    {
        var meter = node.Services.GetRequiredService<GatewayMeter>().Meter;
        long total = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "cybercoop.limits.refused")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "caller" && (string?)tag.Value == caller)
                {
                    total += value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return total;
    }
}
