using System.Threading.Channels;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Federation;

/// <summary>
/// Turns locally ingested indicators into bundles for each peer. It takes the store's change feed
/// from each peer's durable cursor, applies that peer's outbound policy (sovereignty: TLP ceiling,
/// types, confidence, sectors, tags, embargo, redaction), cuts bundles by size, signs each as the
/// origin, and commits the bundles to the peer's outbox together with the advanced cursor and the
/// audit of every decision, in one transaction. A crash therefore neither loses nor repeats work.
/// Only this node's own observations are ever originated: what peers sent is shared onwards only
/// by the relay rules.
/// </summary>
/// <remarks>
/// In-memory hand-off: the store raises <see cref="GatewayStore.LocalChangesCommitted"/> after each agent batch's
/// commit, in commit order, with the indicators as committed; they are kept here (bounded) and a peer whose cursor
/// they continue takes them from memory instead of re-reading and re-parsing them from the database (measured 3-5 µs
/// per indicator). The change feed in the database stays the source of truth: after a restart, for a peer that was
/// behind (no keys yet, a slow pass), or when the hand-off was full, the dispatcher reads the feed from the peer's
/// cursor as before. Cursors, outbox and audit are committed exactly as before, so delivery stays exactly-once.
/// </remarks>
internal sealed class OutboundDispatcher(GatewayRuntime runtime, PeerKeyDirectory directory, ILogger<OutboundDispatcher> logger) : BackgroundService
{
    /// <summary>Committed agent batches waiting in the hand-off before the dispatcher takes them.</summary>
    internal const int HandoffCapacity = 64;

    /// <summary>Most indicators kept in memory for peers that are behind; older ones are re-read from the feed.</summary>
    internal const int MaxBufferedIndicators = 50_000;

    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<LocalChangeBatch> _handoff = Channel.CreateBounded<LocalChangeBatch>(
        new BoundedChannelOptions(HandoffCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly List<LocalChangeBatch> _buffered = [];
    private readonly OutboundPolicyEvaluator _policy = new();
    private int _bufferedIndicators;
    private long _fromHandoff;
    private long _fromFeed;

    // Highest local_seq known to be committed: the feed's maximum when the hand-off was connected, then every
    // hand-off (set before the batch is offered, so a dropped batch still makes a peer behind it read the feed).
    private long _highWater;
    private volatile bool _highWaterKnown;

    /// <summary>Indicators dispatched from the in-memory hand-off (the rest came from the database's change feed).</summary>
    public long IndicatorsFromHandoff => Interlocked.Read(ref _fromHandoff);

    /// <summary>Indicators read back from the change feed.</summary>
    public long IndicatorsFromFeed => Interlocked.Read(ref _fromFeed);

    /// <summary>Wakes the dispatcher (new local indicators, a peer's keys arrived, config changed).</summary>
    public void Notify() => _signal.Writer.TryWrite(true);

    /// <summary>On the store's writer, right after a commit: must be quick and must not throw.</summary>
    private void OnLocalChangesCommitted(LocalChangeBatch batch)
    {
        RaiseHighWater(batch.LastSeq);
        _handoff.Writer.TryWrite(batch); // Full: dropped here, read from the feed instead.
    }

    private void RaiseHighWater(long seq)
    {
        long seen;
        do
        {
            seen = Interlocked.Read(ref _highWater);
        }
        while (seq > seen && Interlocked.CompareExchange(ref _highWater, seq, seen) != seen);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        runtime.TrustChanged += (_, _) => Notify();
        runtime.Store.LocalChangesCommitted += OnLocalChangesCommitted;
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            runtime.Store.LocalChangesCommitted -= OnLocalChangesCommitted;
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        // Subscribed first, so every commit after this read is handed off: from now on the feed holds nothing above
        // the high-water mark that the hand-off has not announced.
        RaiseHighWater(await runtime.Store.MaxLocalSeqAsync(stoppingToken).ConfigureAwait(false));
        _highWaterKnown = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var tick = new CancellationTokenSource(TimeSpan.FromSeconds(1), runtime.Time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, tick.Token);
                try
                {
                    await _signal.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
                    var linger = runtime.Trust.Config.Config.Node.Bundle.LingerMilliseconds;
                    await Task.Delay(TimeSpan.FromMilliseconds(linger), runtime.Time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Periodic pass: embargoes that came due, peers whose keys arrived.
                }

                await DispatchAllAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                GatewayLog.DispatcherFailed(logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), runtime.Time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One pass over every peer; returns the number of bundles written.</summary>
    public async Task<int> DispatchAllAsync(CancellationToken ct)
    {
        TakeHandoff();
        var bundles = 0;
        var lowest = long.MaxValue;
        foreach (var peer in runtime.Trust.Peers.Values)
        {
            var (written, cursor) = await DispatchPeerAsync(peer, ct).ConfigureAwait(false);
            bundles += written;
            lowest = Math.Min(lowest, cursor);
        }

        TrimBuffer(lowest);
        if (bundles > 0)
        {
            runtime.NotifyOutbox();
        }

        return bundles;
    }

    private void TakeHandoff()
    {
        while (_handoff.Reader.TryRead(out var batch))
        {
            _buffered.Add(batch);
            _bufferedIndicators += batch.Indicators.Count;
        }
    }

    /// <summary>Drops what every peer has dispatched, and the oldest batches beyond the memory bound.</summary>
    private void TrimBuffer(long lowestCursor)
    {
        var drop = 0;
        var dropped = 0;
        while (drop < _buffered.Count
            && (_buffered[drop].LastSeq <= lowestCursor || _bufferedIndicators - dropped > MaxBufferedIndicators))
        {
            dropped += _buffered[drop].Indicators.Count;
            drop++;
        }

        _buffered.RemoveRange(0, drop);
        _bufferedIndicators -= dropped;
    }

    /// <summary>
    /// The feed after <paramref name="cursor"/> from memory: up to <paramref name="limit"/> changes when the hand-off
    /// continues the cursor without a gap; an empty list when nothing was committed after it; null when the database
    /// must be read (behind the hand-off, a dropped batch, or the high-water mark not known yet).
    /// </summary>
    private List<LocalChange>? TakeBuffered(long cursor, int limit)
    {
        TakeHandoff(); // batches committed while this pass ran: otherwise they would look like a gap
        var next = cursor + 1;
        var start = _buffered.FindIndex(b => b.FirstSeq <= next && next <= b.LastSeq);
        if (start < 0)
        {
            return _highWaterKnown && cursor >= Interlocked.Read(ref _highWater) ? [] : null;
        }

        var changes = new List<LocalChange>(Math.Min(limit, _bufferedIndicators));
        for (var b = start; b < _buffered.Count && changes.Count < limit; b++)
        {
            var batch = _buffered[b];
            if (batch.FirstSeq > next)
            {
                break; // a gap: the rest comes from the feed
            }

            for (var i = (int)(next - batch.FirstSeq); i < batch.Indicators.Count && changes.Count < limit; i++)
            {
                changes.Add(new LocalChange(batch.FirstSeq + i, batch.Indicators[i]));
                next++;
            }
        }

        return changes;
    }

    /// <summary>One peer's pass: bundles written, and the peer's cursor after it (long.MaxValue when it was skipped).</summary>
    private async Task<(int Bundles, long Cursor)> DispatchPeerAsync(PeerSettings peer, CancellationToken ct)
    {
        var keys = directory.Find(peer.IdText);
        if (keys is null)
        {
            return (0, long.MaxValue); // The forwarder fetches the peer's keys and wakes us; the cursor waits durably.
        }

        var (suite, error) = SuiteNegotiation.ForPeer(runtime, peer, keys);
        if (error is not null)
        {
            runtime.Metrics.Peer(peer.IdText).Error(error);
            return (0, long.MaxValue);
        }

        var node = runtime.Trust.Config.Config.Node;
        var maxIndicators = node.Bundle.MaxIndicators;
        var total = 0;
        var pageSize = maxIndicators * 4;
        var cursor = await runtime.Store.GetPeerCursorAsync(peer.IdText, ct).ConfigureAwait(false);
        var due = await runtime.Store.ReadDueEmbargoedAsync(peer.IdText, runtime.Time.GetUtcNow(), pageSize, ct).ConfigureAwait(false);
        while (true)
        {
            IReadOnlyList<LocalChange> changes;
            var fromFeed = false;
            if (TakeBuffered(cursor, pageSize) is { } buffered)
            {
                changes = buffered;
                Interlocked.Add(ref _fromHandoff, buffered.Count);
            }
            else
            {
                changes = await runtime.Store.ReadLocalChangesAsync(cursor, pageSize, ct).ConfigureAwait(false);
                fromFeed = true;
                Interlocked.Add(ref _fromFeed, changes.Count);
            }

            if (changes.Count == 0 && due.Count == 0)
            {
                return (total, cursor);
            }

            var newCursor = changes.Count > 0 ? changes[^1].Seq : cursor;
            var work = changes.Select(c => c.Indicator).Concat(due).DistinctBy(i => i.Id, StringComparer.Ordinal);
            var plan = Plan(peer, suite, work, maxIndicators);
            var released = due.Select(i => i.Id).Except(plan.Embargoed.Select(e => e.IndicatorId), StringComparer.Ordinal).ToList();
            await runtime.Store.CommitDispatchAsync(peer.IdText, newCursor, plan.Outbox, released, plan.Embargoed, plan.Audit, ct).ConfigureAwait(false);
            var metrics = runtime.Metrics.Peer(peer.IdText);
            Interlocked.Add(ref metrics.IndicatorsWithheld, plan.Withheld);
            GatewayLog.BundleCut(logger, peer.IdText, plan.Shared, plan.Withheld);
            total += plan.Outbox.Count;
            cursor = newCursor;
            due = [];
            if (changes.Count == 0 || (fromFeed && changes.Count < pageSize && !_highWaterKnown))
            {
                return (total, cursor);
            }
        }
    }

    /// <summary>What a peer gets from a set of indicators, and the bundles, embargoes and audit to commit.</summary>
    internal sealed record DispatchPlan(List<OutboxItem> Outbox, List<EmbargoItem> Embargoed, List<AuditEntry> Audit, int Shared, int Withheld);

    internal DispatchPlan Plan(PeerSettings peer, Suite suite, IEnumerable<Indicator> indicators, int maxIndicators)
    {
        var now = runtime.Time.GetUtcNow();
        var self = runtime.Identity.IdText;
        var shared = new List<Indicator>();
        var withheld = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var embargoed = new List<EmbargoItem>();
        var withheldCount = 0;
        foreach (var indicator in indicators)
        {
            var own = OwnView(indicator, self);
            if (own is null)
            {
                continue;
            }

            var decision = _policy.Evaluate(own, peer.Outbound, now);
            if (decision.Shared)
            {
                shared.Add(decision.Redacted!);
                continue;
            }

            withheldCount++;
            if (decision.EmbargoUntil is { } until)
            {
                embargoed.Add(new EmbargoItem(peer.IdText, indicator.Id, until));
            }

            if (!withheld.TryGetValue(decision.Reason, out var ids))
            {
                withheld[decision.Reason] = ids = [];
            }

            ids.Add(indicator.Id);
        }

        var audit = new List<AuditEntry>();
        foreach (var (reason, ids) in withheld)
        {
            audit.Add(new AuditEntry
            {
                Kind = AuditKinds.Withheld,
                Actor = self,
                Subject = peer.IdText,
                Decision = "withheld",
                Reason = reason,
                DetailsJson = AuditDetails.Indicators(ids),
            });
        }

        var outbox = new List<OutboxItem>();
        foreach (var chunk in shared.Chunk(maxIndicators))
        {
            var bundle = new Bundle
            {
                BundleId = ByteString.CopyFrom(Relaying.RandomId()),
                Origin = self,
                CreatedAt = Timestamp.FromDateTimeOffset(now),
                RelayAllowed = peer.Outbound.AllowRelay,
                MaxHops = peer.Outbound.AllowRelay ? (uint)runtime.Trust.Config.Config.Node.MaxHops : 0,
                FirstRecipient = peer.IdText,
            };
            bundle.Indicators.Add(chunk);
            var bundleBytes = bundle.ToByteArray();
            var key = runtime.Identity.SigningKey(suite, now);
            var signed = new SignedBundle
            {
                Bundle = ByteString.CopyFrom(bundleBytes),
                Suite = suite,
                SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
                Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Bundle, bundleBytes, key)),
            };
            outbox.Add(new OutboxItem(peer.IdText, Relaying.RandomId(), signed.ToByteArray(), chunk.Length, now));
            audit.Add(new AuditEntry
            {
                Kind = AuditKinds.Shared,
                Actor = self,
                Subject = peer.IdText,
                Decision = "shared",
                Reason = "bundle:" + Convert.ToHexStringLower(bundle.BundleId.Span) + (peer.Outbound.Redact.Count > 0 ? " redacted " + string.Join(",", peer.Outbound.Redact) : ""),
                DetailsJson = AuditDetails.Indicators(chunk.Select(i => i.Id)),
            });
        }

        return new DispatchPlan(outbox, embargoed, audit, shared.Count, withheldCount);
    }

    /// <summary>The indicator as this node may originate it: only its own observations; null when it has none.</summary>
    private static Indicator? OwnView(Indicator indicator, string self)
    {
        var mine = 0;
        foreach (var observation in indicator.Observations)
        {
            if (observation.Node == self)
            {
                mine++;
            }
        }

        if (mine == indicator.Observations.Count)
        {
            return mine == 0 ? null : indicator;
        }

        if (mine == 0)
        {
            return null;
        }

        var copy = indicator.Clone();
        copy.Observations.Clear();
        copy.Observations.Add(indicator.Observations.Where(o => o.Node == self));
        return copy;
    }
}
