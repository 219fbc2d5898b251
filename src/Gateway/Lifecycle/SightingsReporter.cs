using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// Reports this node's sightings of peers' indicators back to their origins, every <c>node.sightingsReportSeconds</c>.
/// It reads the change feed of the node's own agents from its durable cursor; for each indicator its sensors saw that
/// carries the observation of a configured peer whose <c>sightingsBack</c> is not <c>off</c>, it reports to that peer
/// the sightings new since the last report (<see cref="SightingsReport"/>, from the origin view: numbers and times of
/// its own sightings only, and its own sightings' sectors only for <c>counts+sector</c>). Indicators suppressed here or withdrawn by that origin are not reported. One signed report per
/// origin and pass, committed to the outbox with the totals reported and the advanced cursor in one transaction.
/// An origin that is a peer gets its report directly, under this node's policy towards it. For an origin that is not a
/// peer (the indicator came by relay) the report goes to the first peer that relayed the indicator here and whose
/// <c>sightingsBack</c> is not <c>off</c>, under the policy towards that peer; it forwards the report on towards the
/// origin (<see cref="SightingsReceiver"/>, docs/protocol.md §13.2).
/// </summary>
internal sealed class SightingsReporter(
    ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, ISightingsStore sightingsStore, IIndicatorStore indicatorStore,
    ILifecycleStore lifecycleStore, IDispatchStore dispatchStore, IOutboxSignal outboxSignal, TimeProvider time, PeerKeyDirectory directory,
    ILogger<SightingsReporter> logger) : BackgroundService
{
    private const int PageSize = 5000;
    private DateTimeOffset _lastReport = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _lastReport = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.SightingsReportSeconds), time, stoppingToken).ConfigureAwait(false);
                await ReportOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LifecycleLog.ReporterFailed(logger, ex);
            }
        }
    }

    /// <summary>
    /// The peer a report about <paramref name="origin"/>'s indicator goes to, or null when none may get it: the origin
    /// itself when it is a peer (its own policy decides, a relay never stands in for it); otherwise the first peer that
    /// relayed the indicator here whose policy is not off.
    /// </summary>
    private async Task<string?> ReportPathAsync(string indicatorId, string origin, Dictionary<string, SightingsBackLevel> levels, CancellationToken ct)
    {
        if (trustSnapshot.Current.Peers.ContainsKey(origin))
        {
            return levels.ContainsKey(origin) ? origin : null;
        }

        foreach (var peer in await sightingsStore.ReadReceivedFromAsync(indicatorId, origin, ct).ConfigureAwait(false))
        {
            if (levels.ContainsKey(peer))
            {
                return peer;
            }
        }

        return null;
    }

    /// <summary>One pass over the change feed; returns the number of reports queued.</summary>
    public async Task<int> ReportOnceAsync(CancellationToken ct)
    {
        var self = identitySource.Current.IdText;
        var now = time.GetUtcNow();
        var periodStart = _lastReport == DateTimeOffset.MinValue ? now : _lastReport;
        var levels = new Dictionary<string, SightingsBackLevel>(StringComparer.Ordinal);
        foreach (var peer in trustSnapshot.Current.Peers.Values)
        {
            if (trustSnapshot.Current.Config.Config.Peers.FirstOrDefault(p => p.Id == peer.IdText) is { } config
                && SightingsBackLevels.TryParse(config.SightingsBack, out var level) && level != SightingsBackLevel.Off)
            {
                levels[peer.IdText] = level;
            }
        }

        var cursor = await dispatchStore.GetPeerCursorAsync(GatewayStore.SightingsCursor, ct).ConfigureAwait(false);
        var suppressed = await lifecycleStore.ReadSuppressionsAsync(ct).ConfigureAwait(false);
        var reports = 0;
        while (true)
        {
            var changes = await dispatchStore.ReadLocalChangesAsync(cursor, PageSize, ct).ConfigureAwait(false);
            if (changes.Count == 0)
            {
                break;
            }

            var byOrigin = new Dictionary<(string Via, string Origin), List<SightingCount>>();
            var reported = new List<ReportedSightings>();
            foreach (var change in changes)
            {
                // The change feed holds the origin view (own sightings only): counts and sectors come from it; which peers
                // published the indicator comes from the merged record.
                var indicator = change.Indicator;
                if (levels.Count == 0 || suppressed.ContainsKey(indicator.Id)
                    || await indicatorStore.GetIndicatorAsync(indicator.Id, ct).ConfigureAwait(false) is not { } merged)
                {
                    continue;
                }

                var origins = merged.Observations.Select(o => o.Node).Where(n => n != self).Distinct(StringComparer.Ordinal).ToList();
                if (origins.Count == 0)
                {
                    continue;
                }

                var already = await sightingsStore.ReadReportedSightingsAsync(indicator.Id, ct).ConfigureAwait(false);
                var withdrawnBy = (await lifecycleStore.ReadWithdrawalsAsync(indicator.Id, ct).ConfigureAwait(false)).Select(w => w.Origin).ToHashSet(StringComparer.Ordinal);
                foreach (var origin in origins)
                {
                    if (withdrawnBy.Contains(origin) || await ReportPathAsync(indicator.Id, origin, levels, ct).ConfigureAwait(false) is not { } via)
                    {
                        continue;
                    }

                    var (entry, total) = SightingsReport.Entry(indicator, self, already.GetValueOrDefault(origin), levels[via], now);
                    if (entry is null)
                    {
                        continue;
                    }

                    if (!byOrigin.TryGetValue((via, origin), out var list))
                    {
                        byOrigin[(via, origin)] = list = [];
                    }

                    list.Add(entry);
                    reported.Add(new ReportedSightings(indicator.Id, origin, total));
                }
            }

            var outbox = new List<OutboxItem>();
            var audit = new List<AuditEntry>();
            foreach (var ((via, origin), entries) in byOrigin)
            {
                var peer = trustSnapshot.Current.Peers[via];
                var suite = directory.Find(via) is { } keys && SuiteNegotiation.ForPeer(trustSnapshot, identitySource, peer, keys) is { Error: null } chosen
                    ? chosen.Suite
                    : identitySource.Current.Suites[^1];
                for (var first = 0; first < entries.Count; first += SightingsReport.MaxEntries)
                {
                    var chunk = entries.GetRange(first, Math.Min(SightingsReport.MaxEntries, entries.Count - first));
                    var report = new SightingReport
                    {
                        ReportId = ByteString.CopyFrom(Relaying.RandomId()),
                        Reporter = self,
                        Origin = origin,
                        PeriodStart = Timestamp.FromDateTimeOffset(periodStart),
                        PeriodEnd = Timestamp.FromDateTimeOffset(now),
                    };
                    report.Sightings.Add(chunk);
                    outbox.Add(new OutboxItem(via, Relaying.RandomId(), LifecycleSigning.Sign(identitySource.Current, suite, report).ToByteArray(), 0, now, 0, PayloadKind.SightingReport));
                    var sightings = chunk.Sum(c => (long)c.Count);
                    audit.Add(new AuditEntry
                    {
                        Kind = AuditKinds.Sighting,
                        Actor = self,
                        Subject = origin,
                        Decision = "sightings-reported",
                        Reason = $"report {Convert.ToHexStringLower(report.ReportId.Span)}: {chunk.Count} indicators, {sightings} sightings ({SightingsBackLevels.Name(levels[via])})" +
                            (via == origin ? "" : $", via {via} (the indicators came by relay)"),
                        DetailsJson = AuditDetails.Indicators(chunk.Select(c => c.IndicatorId)),
                    });
                    LifecycleLog.SightingsReported(logger, origin, chunk.Count, sightings);
                }
            }

            var from = cursor;
            cursor = changes[^1].Seq;
            if (!await sightingsStore.CommitSightingsReportsAsync(cursor, outbox, reported, audit, now, ct, expectedCursor: from).ConfigureAwait(false))
            {
                break; // another gateway process of this nation (shared PostgreSQL) reported this page
            }

            reports += outbox.Count;
            if (changes.Count < PageSize)
            {
                break;
            }
        }

        _lastReport = now;
        if (reports > 0)
        {
            outboxSignal.NotifyOutbox();
        }

        return reports;
    }
}
