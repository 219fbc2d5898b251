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
/// Turns locally ingested indicators into bundles for each peer. It reads the store's change feed
/// from each peer's durable cursor, applies that peer's outbound policy (sovereignty: TLP ceiling,
/// types, confidence, sectors, tags, embargo, redaction), cuts bundles by size, signs each as the
/// origin, and commits the bundles to the peer's outbox together with the advanced cursor and the
/// audit of every decision, in one transaction. A crash therefore neither loses nor repeats work.
/// Only this node's own observations are ever originated: what peers sent is shared onwards only
/// by the relay rules.
/// </summary>
internal sealed class OutboundDispatcher(GatewayRuntime runtime, PeerKeyDirectory directory, ILogger<OutboundDispatcher> logger) : BackgroundService
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly OutboundPolicyEvaluator _policy = new();

    /// <summary>Wakes the dispatcher (new local indicators, a peer's keys arrived, config changed).</summary>
    public void Notify() => _signal.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        runtime.TrustChanged += (_, _) => Notify();
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
        var bundles = 0;
        foreach (var peer in runtime.Trust.Peers.Values)
        {
            bundles += await DispatchPeerAsync(peer, ct).ConfigureAwait(false);
        }

        if (bundles > 0)
        {
            runtime.NotifyOutbox();
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

        var (suite, error) = SuiteNegotiation.ForPeer(runtime, peer, keys);
        if (error is not null)
        {
            runtime.Metrics.Peer(peer.IdText).Error(error);
            return 0;
        }

        var node = runtime.Trust.Config.Config.Node;
        var maxIndicators = node.Bundle.MaxIndicators;
        var total = 0;
        var pageSize = maxIndicators * 4;
        var cursor = await runtime.Store.GetPeerCursorAsync(peer.IdText, ct).ConfigureAwait(false);
        var due = await runtime.Store.ReadDueEmbargoedAsync(peer.IdText, runtime.Time.GetUtcNow(), pageSize, ct).ConfigureAwait(false);
        while (true)
        {
            var changes = await runtime.Store.ReadLocalChangesAsync(cursor, pageSize, ct).ConfigureAwait(false);
            if (changes.Count == 0 && due.Count == 0)
            {
                return total;
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
            if (plan.Outbox.Count > 0)
            {
                // Wake the forwarders after each page, not only at the end of the pass: a backlog is sent while the rest is planned.
                runtime.NotifyOutbox();
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
