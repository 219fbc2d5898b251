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

namespace CyberCoop.Gateway.Outbound;

/// <summary>
/// Turns locally ingested indicators into bundles for each peer. It reads the store's change feed
/// from each peer's durable cursor, applies that peer's outbound policy (sovereignty: TLP ceiling,
/// types, confidence, sectors, tags, embargo, redaction), cuts bundles by size, signs each as the
/// origin, and commits the bundles to the peer's outbox together with the advanced cursor and the
/// audit of every decision, in one transaction. A crash therefore neither loses nor repeats work.
/// Origin view: the change feed carries each indicator as this node's own agents reported it (every
/// field: confidence, first/last seen, valid-until, TLP, tags, sectors, description, context), never
/// the record merged with what peers sent; the policy decides on that view and the bundle carries it.
/// What peers sent is shared onwards only by the relay rules, under the original origin's signature.
/// </summary>
internal sealed class OutboundDispatcher(IDispatchStore dispatchStore, IEmbargoStore embargoStore, ILifecycleStore lifecycleStore, ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, NodeMetrics metrics, IOutboxSignal outboxSignal, PeerKeyDirectory directory, ILogger<OutboundDispatcher> logger) : BackgroundService
{
    private IReadOnlySet<string> _ownWithdrawn = new HashSet<string>();

    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Wakes the dispatcher (new local indicators, a peer's keys arrived, config changed).</summary>
    public void Notify() => _signal.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        trustSnapshot.Changed += (_, _) => Notify();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var tick = new CancellationTokenSource(TimeSpan.FromSeconds(1), time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, tick.Token);
                try
                {
                    await _signal.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
                    var linger = trustSnapshot.Current.Config.Config.Node.Bundle.LingerMilliseconds;
                    await Task.Delay(TimeSpan.FromMilliseconds(linger), time, stoppingToken).ConfigureAwait(false);
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
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One pass over every peer; returns the number of bundles written.</summary>
    public async Task<int> DispatchAllAsync(CancellationToken ct)
    {
        // Indicators this node withdrew are never originated again (Lifecycle/WithdrawalService).
        _ownWithdrawn = await lifecycleStore.ReadWithdrawnByAsync(nodeIdentity.Current.IdText, ct).ConfigureAwait(false);
        var bundles = 0;
        foreach (var peer in trustSnapshot.Current.Peers.Values)
        {
            bundles += await DispatchPeerAsync(peer, ct).ConfigureAwait(false);
        }

        if (bundles > 0)
        {
            outboxSignal.NotifyOutbox();
        }

        return bundles;
    }

    private async Task<int> DispatchPeerAsync(PeerSettings peer, CancellationToken ct)
    {
        var keys = directory.Find(peer.IdText);
        if (keys is null)
        {
            return 0; // The forwarder fetches the peer's keys and wakes us; the cursor waits durably.
        }

        var (suite, error) = SuiteNegotiation.ForPeer(trustSnapshot, nodeIdentity, peer, keys);
        if (error is not null)
        {
            metrics.Peer(peer.IdText).Error(error);
            return 0;
        }

        var node = trustSnapshot.Current.Config.Config.Node;
        var maxIndicators = node.Bundle.MaxIndicators;
        var total = 0;
        var pageSize = maxIndicators * 4;
        var cursor = await dispatchStore.GetPeerCursorAsync(peer.IdText, ct).ConfigureAwait(false);
        var due = await embargoStore.ReadDueEmbargoedAsync(peer.IdText, time.GetUtcNow(), pageSize, ct).ConfigureAwait(false);
        while (true)
        {
            var changes = await dispatchStore.ReadLocalChangesAsync(cursor, pageSize, ct).ConfigureAwait(false);
            if (changes.Count == 0 && due.Count == 0)
            {
                return total;
            }

            var newCursor = changes.Count > 0 ? changes[^1].Seq : cursor;
            var (work, rowIds) = Work(changes, due);
            var plan = Plan(peer, suite, work, maxIndicators, rowIds);
            var released = Released(due, plan.Embargoed);
            if (!await dispatchStore.CommitDispatchAsync(peer.IdText, newCursor, plan.Outbox, released, plan.Embargoed, plan.Audit, plan.Withheld, ct, expectedCursor: cursor).ConfigureAwait(false))
            {
                // Another gateway process of this nation sharing the database (PostgreSQL) dispatched these changes first.
                return total;
            }

            var peerMetrics = metrics.Peer(peer.IdText);
            Interlocked.Add(ref peerMetrics.IndicatorsWithheld, plan.Withheld);
            GatewayLog.BundleCut(logger, peer.IdText, plan.Shared, plan.Withheld);
            total += plan.Outbox.Count;
            if (plan.Outbox.Count > 0)
            {
                // Wake the forwarders after each page, not only at the end of the pass: a backlog is sent while the rest is planned.
                outboxSignal.NotifyOutbox();
            }

            cursor = newCursor;
            due = [];
            if (changes.Count < pageSize)
            {
                return total;
            }
        }
    }

    /// <summary>What a peer gets from a set of indicators, and the bundles, embargoes and audit to commit.</summary>
    internal sealed record DispatchPlan(List<OutboxItem> Outbox, List<EmbargoItem> Embargoed, List<AuditEntry> Audit, int Shared, int Withheld);

    /// <param name="ownViews">Origin views (<see cref="GatewayStore.ReadLocalChangesAsync"/>): own sightings only.</param>
    /// <param name="rowIds">The stored rows' ids of <paramref name="ownViews"/>, index for index (0: not known), passed on
    /// with the bundles so the dispatch commit records the deliveries by row id without looking the ids up.</param>
    internal DispatchPlan Plan(PeerSettings peer, Suite suite, IReadOnlyList<Indicator> ownViews, int maxIndicators, IReadOnlyList<long>? rowIds = null)
    {
        var now = time.GetUtcNow();
        var self = nodeIdentity.Current.IdText;
        var policy = peer.Outbound;
        var redaction = OutboundPolicyEvaluator.MaskOf(policy.Redact);
        var shared = new List<Indicator>(ownViews.Count);
        var sharedRowIds = rowIds is null ? null : new List<long>(ownViews.Count);
        var withheld = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var embargoed = new List<EmbargoItem>();
        var withheldCount = 0;
        for (var i = 0; i < ownViews.Count; i++)
        {
            var own = ownViews[i];
            if (_ownWithdrawn.Contains(own.Id))
            {
                // Withdrawn by this node (Lifecycle/WithdrawalService): never originated again.
                continue;
            }

            var reason = OutboundPolicyEvaluator.Decide(own, policy, now, out var embargoUntil);
            if (reason == OutboundDecision.SharedReason)
            {
                shared.Add(OutboundPolicyEvaluator.Redact(own, redaction));
                sharedRowIds?.Add(rowIds![i]);
                continue;
            }

            withheldCount++;
            if (embargoUntil is { } until)
            {
                embargoed.Add(new EmbargoItem(peer.IdText, own.Id, until));
            }

            if (!withheld.TryGetValue(reason, out var ids))
            {
                withheld[reason] = ids = [];
            }

            ids.Add(own.Id);
        }

        var audit = new List<AuditEntry>(withheld.Count + (shared.Count / Math.Max(1, maxIndicators)) + 1);
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
        var redactedNote = policy.Redact.Count > 0 ? " redacted " + string.Join(",", policy.Redact) : "";
        for (var first = 0; first < shared.Count; first += maxIndicators)
        {
            var count = Math.Min(maxIndicators, shared.Count - first);
            var chunk = shared.GetRange(first, count);
            var bundle = new Bundle
            {
                BundleId = UnsafeByteOperations.UnsafeWrap(Relaying.RandomId()),
                Origin = self,
                CreatedAt = Timestamp.FromDateTimeOffset(now),
                RelayAllowed = policy.AllowRelay,
                MaxHops = policy.AllowRelay ? (uint)trustSnapshot.Current.Config.Config.Node.MaxHops : 0,
                FirstRecipient = peer.IdText,
            };
            bundle.Indicators.Add(chunk);
            var bundleBytes = bundle.ToByteArray();
            var key = nodeIdentity.Current.SigningKey(suite, now);
            // bundleBytes is fresh and owned here, and nothing writes to it after this point: Sign wraps it, so the ~300 KB
            // bundle is not copied before the signed bundle is serialized.
            var signed = BundleProtection.Sign(bundleBytes, key);
            outbox.Add(new OutboxItem(peer.IdText, Relaying.RandomId(), signed.ToByteArray(), count, now, Origin: self, IndicatorIds: chunk.ConvertAll(i => i.Id),
                IndicatorRowIds: sharedRowIds?.GetRange(first, count)));
            audit.Add(new AuditEntry
            {
                Kind = AuditKinds.Shared,
                Actor = self,
                Subject = peer.IdText,
                Decision = "shared",
                Reason = "bundle:" + Convert.ToHexStringLower(bundle.BundleId.Span) + redactedNote,
                DetailsJson = AuditDetails.Indicators(chunk),
            });
        }

        return new DispatchPlan(outbox, embargoed, audit, shared.Count, withheldCount);
    }

    /// <summary>
    /// The page of the change feed followed by the due embargoed indicators, each id once (first occurrence kept), with
    /// their row ids (0 for the embargoed ones: the dispatch commit looks those up).
    /// </summary>
    private static (List<Indicator> Work, List<long> RowIds) Work(IReadOnlyList<LocalChange> changes, IReadOnlyList<Indicator> due)
    {
        var work = new List<Indicator>(changes.Count + due.Count);
        var rowIds = new List<long>(changes.Count + due.Count);
        var seen = new HashSet<string>(changes.Count + due.Count, StringComparer.Ordinal);
        for (var i = 0; i < changes.Count; i++)
        {
            if (seen.Add(changes[i].Indicator.Id))
            {
                work.Add(changes[i].Indicator);
                rowIds.Add(changes[i].RowId);
            }
        }

        for (var i = 0; i < due.Count; i++)
        {
            if (seen.Add(due[i].Id))
            {
                work.Add(due[i]);
                rowIds.Add(0);
            }
        }

        return (work, rowIds);
    }

    /// <summary>Ids of the due embargoed indicators that this pass did not embargo again, each once.</summary>
    private static List<string> Released(IReadOnlyList<Indicator> due, List<EmbargoItem> embargoed)
    {
        var released = new List<string>();
        if (due.Count == 0)
        {
            return released;
        }

        var excluded = new HashSet<string>(embargoed.Count, StringComparer.Ordinal);
        foreach (var item in embargoed)
        {
            excluded.Add(item.IndicatorId);
        }

        foreach (var indicator in due)
        {
            // Except() semantics: set difference, so an id appears once.
            if (excluded.Add(indicator.Id))
            {
                released.Add(indicator.Id);
            }
        }

        return released;
    }
}
