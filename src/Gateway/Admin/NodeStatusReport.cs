using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Admin;

/// <summary>
/// The node's live status (identity, trust bundles, peers with their counters and outbox, agents, warnings): what
/// <c>status</c> prints over the admin socket and what the web console shows; one code path for both. The store's
/// counts (indicators, outbox depths) are read with a bound (<see cref="StoreReadBound"/>): when the store's PostgreSQL
/// server is down or does not answer, the report still holds everything kept in memory, with
/// <see cref="NodeStatus.StoreUnavailable"/> saying why the counts are missing and since when.
/// </summary>
internal sealed class NodeStatusReport(
    ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, NodeMetrics nodeMetrics, CallerActivity callerActivity,
    IIndicatorStore indicatorStore, IOutboxStore outboxStore, IStoreHealth store, ConnectionBudget connections, TimeProvider time)
{
    /// <summary>Certificates expiring within this period raise a warning.</summary>
    public static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(7);

    /// <summary>How long the report waits for the store's counts before it is built without them.</summary>
    public static readonly TimeSpan StoreReadBound = TimeSpan.FromSeconds(3);

    /// <summary>Reads the status now.</summary>
    public async Task<NodeStatus> BuildAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var counts = await ReadStoreAsync(ct).ConfigureAwait(false);
        var certificateNotAfter = new DateTimeOffset(identitySource.Current.Certificate.NotAfter.ToUniversalTime());
        var status = new NodeStatus
        {
            Node = identitySource.Current.IdText,
            StartedAt = Timestamp.FromDateTimeOffset(nodeMetrics.StartedAt),
            IndicatorsStored = (ulong)(counts.Indicators ?? 0),
            SightingsIngested = (ulong)nodeMetrics.SightingsIngested,
            SightingsRejected = (ulong)nodeMetrics.SightingsRejected,
            CallsDenied = (ulong)nodeMetrics.CallsDenied,
            CertificateNotAfter = Timestamp.FromDateTimeOffset(certificateNotAfter),
            ConnectionsOpen = (ulong)Math.Max(0, connections.Open),
            ConnectionBudget = connections.OpenFileLimit is null ? 0 : (ulong)connections.Capacity,
            ConnectionsRefused = (ulong)connections.Refused,
        };
        if (connections.OpenFileLimit is not null && connections.Open >= connections.Capacity)
        {
            status.Warnings.Add($"the connection budget is full ({connections.Open} of {connections.Capacity} inbound connections): new callers are closed at once until connections end; a flood, or raise the open-file limit (LimitNOFILE, now {connections.OpenFileLimit})");
        }
        if (counts.Unavailable is { } unavailable)
        {
            status.StoreUnavailable = unavailable.Cause;
            if (unavailable.Since is { } since)
            {
                status.StoreUnavailableSince = Timestamp.FromDateTimeOffset(since);
            }
        }

        if (identitySource.Current.PendingActivation() is { } activation)
        {
            status.ContentKeysPendingActivation = Timestamp.FromDateTimeOffset(activation);
        }

        if (certificateNotAfter - now < ExpiryWarning)
        {
            status.Warnings.Add($"the node's TLS certificate expires at {certificateNotAfter:u}; renew it with 'certs renew'");
        }

        var own = trustSnapshot.Current.OwnBundle;
        status.TrustBundleSequence = own.Sequence;
        status.TrustBundleExpiresAt = Timestamp.FromDateTimeOffset(own.ExpiresAt);
        if (own.ExpiresAt - now < ExpiryWarning)
        {
            status.Warnings.Add(own.ExpiresAt <= now
                ? $"the domain's trust bundle (sequence {own.Sequence}) EXPIRED at {own.ExpiresAt:u}; peers refuse it: re-sign it with 'certs bundle sign' and reload"
                : $"the domain's trust bundle (sequence {own.Sequence}) expires at {own.ExpiresAt:u}; re-sign it with 'certs bundle sign' and reload");
        }

        foreach (var peer in trustSnapshot.Current.Peers.Values)
        {
            var metrics = nodeMetrics.Peer(peer.IdText);
            var (connectedSince, lastAck, lastError, suite) = metrics.Snapshot();
            var outbox = counts.Outboxes.GetValueOrDefault(peer.IdText) ?? new OutboxStats(0, 0, null);
            var item = new PeerStatus
            {
                Peer = peer.IdText,
                Address = peer.Address.ToString(),
                Connected = connectedSince is not null,
                OutboxDepth = (ulong)outbox.Depth,
                OldestAgeSeconds = outbox.OldestCreatedAt is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : 0,
                EnvelopesSent = (ulong)Interlocked.Read(ref metrics.EnvelopesSent),
                EnvelopesReceived = (ulong)Interlocked.Read(ref metrics.EnvelopesReceived),
                IndicatorsSent = (ulong)Interlocked.Read(ref metrics.IndicatorsSent),
                IndicatorsReceived = (ulong)Interlocked.Read(ref metrics.IndicatorsReceived),
                IndicatorsWithheld = (ulong)Interlocked.Read(ref metrics.IndicatorsWithheld),
                EnvelopesRejected = (ulong)Interlocked.Read(ref metrics.EnvelopesRejected),
                HelloTrustBundleSequence = (ulong)Interlocked.Read(ref metrics.HelloTrustBundleSequence),
                LastError = lastError,
                Suite = suite,
            };
            if (metrics.ClockSkew(now) is { } skew)
            {
                item.ClockSkewSeconds = Math.Round(skew.TotalSeconds, 3);
                item.ClockSkewMeasured = true;
            }

            if (connectedSince is { } since)
            {
                item.ConnectedSince = Timestamp.FromDateTimeOffset(since);
            }

            if (lastAck is { } ack)
            {
                item.LastAck = Timestamp.FromDateTimeOffset(ack);
            }

            if (callerActivity.Rows.TryGetValue(peer.IdText, out var activity) && activity.BundleSequence is { } held)
            {
                item.BundleSequenceHeld = held;
                item.BundleFetchedAt = Timestamp.FromDateTimeOffset(activity.BundleFetchedAt ?? activity.LastSeen);
            }

            if (trustSnapshot.Current.PeerBundles.TryGetValue(peer.Id.TrustDomain, out var theirs))
            {
                item.PeerBundleSequence = theirs.Bundle.Sequence;
            }

            status.Peers.Add(item);
        }

        foreach (var agent in callerActivity.Rows.Values.Where(a => a.Kind == CallerKinds.Agent).OrderBy(a => a.Caller, StringComparer.Ordinal))
        {
            var row = new AgentStatus
            {
                Agent = agent.Caller,
                FirstSeen = Timestamp.FromDateTimeOffset(agent.FirstSeen),
                LastSeen = Timestamp.FromDateTimeOffset(agent.LastSeen),
                Batches = (ulong)agent.Batches,
                SightingsStored = (ulong)agent.SightingsStored,
                SightingsRejected = (ulong)agent.SightingsRejected,
                LastError = agent.LastError ?? "",
                BundleSequenceHeld = agent.BundleSequence ?? 0,
            };
            if (agent.LastErrorAt is { } errorAt)
            {
                row.LastErrorAt = Timestamp.FromDateTimeOffset(errorAt);
            }

            if (agent.BundleFetchedAt is { } fetched)
            {
                row.BundleFetchedAt = Timestamp.FromDateTimeOffset(fetched);
            }

            status.Agents.Add(row);
        }

        foreach (var domain in trustSnapshot.Current.Peers.Values.Select(p => p.Id.TrustDomain).Distinct(StringComparer.Ordinal))
        {
            // The roots trusted now: the pinned one, or those of the peer's accepted trust bundle after a rotation.
            var roots = trustSnapshot.Current.RootsOf(domain);
            var lastRoot = roots.Count == 0 ? DateTime.MaxValue : roots.Max(r => r.NotAfter.ToUniversalTime());
            if (lastRoot - now.UtcDateTime < ExpiryWarning)
            {
                status.Warnings.Add($"the root of {domain} expires at {lastRoot:u}");
            }

            if (trustSnapshot.Current.PeerBundles.TryGetValue(domain, out var held) && held.Bundle.ExpiresAt - now < ExpiryWarning)
            {
                status.Warnings.Add($"the trust bundle of {domain} (sequence {held.Bundle.Sequence}) expires at {held.Bundle.ExpiresAt:u}; its operator must re-sign it");
            }
        }

        return status;
    }

    /// <summary>
    /// The indicator count and every configured peer's outbox, or, when the store's server is unreachable (or does not
    /// answer within <see cref="StoreReadBound"/>), why not and since when.
    /// </summary>
    private async Task<(long? Indicators, Dictionary<string, OutboxStats> Outboxes, (string Cause, DateTimeOffset? Since)? Unavailable)> ReadStoreAsync(CancellationToken ct)
    {
        var peers = trustSnapshot.Current.Peers.Values.Select(p => p.IdText).ToList();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // On a thread of its own: a pooled read connection is opened synchronously and may wait for a dead server.
        var read = Task.Run(
            async () =>
            {
                var indicators = await indicatorStore.CountIndicatorsAsync(bound.Token).ConfigureAwait(false);
                var outboxes = new Dictionary<string, OutboxStats>(StringComparer.Ordinal);
                foreach (var peer in peers)
                {
                    outboxes[peer] = await outboxStore.GetOutboxStatsAsync(peer, bound.Token).ConfigureAwait(false);
                }

                return (indicators, outboxes);
            },
            bound.Token);
        try
        {
            var (indicators, outboxes) = await read.WaitAsync(StoreReadBound, time, ct).ConfigureAwait(false);
            store.Outage?.Cleared();
            return (indicators, outboxes, null);
        }
        catch (TimeoutException)
        {
            await bound.CancelAsync().ConfigureAwait(false);
            _ = read.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return (null, [], store.Outage?.Current is { } known
                ? (known.Cause, known.Since)
                : ($"the store {store.Path} did not answer within {StoreReadBound.TotalSeconds:0} s", null));
        }
        catch (Exception ex) when (PostgresOutage.Of(ex) is { } outage && store.Outage is { } monitor)
        {
            monitor.Seen(outage);
            var known = monitor.Current!.Value;
            return (null, [], (known.Cause, known.Since));
        }
    }
}
