using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// Receives sighting reports, at the origin or on the relay path back to it. A report is signed end to end by its
/// reporter under the sighting-report context; relays pass it on unchanged (with the reporter's key announcement), like
/// relayed bundles. Hop rules: at hop 0 the reporter is the mTLS sender; a relayed copy comes from someone else, never
/// back to its reporter, at most <see cref="MaxReportHops"/> hops. A report that came by relay, or is addressed to
/// another node, is accepted only about indicators this node gave the sender (its recorded deliveries): a node reports
/// back only along a path the indicator really took. At the origin the entries are stored per reporter and report id
/// (entries about indicators it did not originate are ignored when the reporter is a direct peer); a replay adds nothing
/// and is audited. Elsewhere the report goes, unchanged, to the peer this node got the indicators from, if this node's
/// <c>sightingsBack</c> policy towards that peer allows it (otherwise it is withheld here, audited with the reason).
/// </summary>
internal sealed class SightingsReceiver(
    ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, ISightingsStore sightingsStore, IIndicatorStore indicatorStore,
    ILifecycleStore lifecycleStore, IOutboxSignal outboxSignal, TimeProvider time, PeerKeyDirectory directory, ILogger<SightingsReceiver> logger)
{
    /// <summary>Longest path of a sighting report (the hop count of the last envelope).</summary>
    public const int MaxReportHops = BundleProtection.MaxRelayHops;

    /// <summary>Checks, verifies and commits one sighting report (its commit enqueued on <paramref name="turn"/>).</summary>
    public async Task<ReceiveOutcome> ReceiveAsync(PeerSettings sender, EnvelopeHeader header, byte[] plaintext, CommitTurn turn, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(turn);
        SignedSightingReport signed;
        SightingReport report;
        try
        {
            signed = SignedSightingReport.Parser.ParseFrom(plaintext);
            report = SightingReport.Parser.ParseFrom(signed.Report);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedSightingReport, ex.Message);
        }

        var self = identitySource.Current.IdText;
        if (header.HopCount == 0 && report.Reporter != sender.IdText)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedSightingReport, $"reporter '{report.Reporter}' is not the sender '{sender.IdText}' (hop 0)");
        }

        if (header.HopCount > 0)
        {
            if (report.Reporter == sender.IdText)
            {
                return ReceiveOutcome.Reject(RejectReason.RelayNotEntitled, "a relayed sighting report cannot come from its own reporter");
            }

            if (report.Reporter == self)
            {
                return ReceiveOutcome.Reject(RejectReason.Loop, "this node is the report's reporter");
            }

            if (header.HopCount > MaxReportHops)
            {
                return ReceiveOutcome.Reject(RejectReason.HopLimit, $"hop {header.HopCount} exceeds the {MaxReportHops} hops a sighting report may travel");
            }
        }

        var latest = time.GetUtcNow() + TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.MaxClockSkewSeconds);
        var formError = CheckForm(report, sender.IdText, latest);
        if (formError is not null)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedSightingReport, formError);
        }

        var (key, keyError) = OriginKeyResolver.Resolve(trustSnapshot, directory, SpiffeId.Parse(report.Reporter), signed.SignerKeyId.Memory, header.HopCount,
            signed.ReporterAnnouncement);
        if (key is null)
        {
            return keyError!;
        }

        var periodEnd = report.PeriodEnd.ToDateTimeOffset();
        if (Suites.SignedWith(key.Key.Algorithm) != signed.Suite
            || !key.ValidAt(periodEnd, TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.MaxClockSkewSeconds))
            || !ContentSignatures.Verify(SignaturePurpose.SightingReport, signed.Report.Span, signed.Signature.Span, key.Key))
        {
            return ReceiveOutcome.Reject(RejectReason.BadSignature, "the reporter's signature over the sighting report does not verify");
        }

        if (header.HopCount > 0 || report.Origin != self)
        {
            // Back along a relay path: only about indicators of that origin this node itself gave the sender.
            foreach (var sighting in report.Sightings)
            {
                if (!(await lifecycleStore.ReadDeliveredPeersAsync(sighting.IndicatorId, report.Origin, ct).ConfigureAwait(false)).Contains(sender.IdText))
                {
                    return ReceiveOutcome.Reject(RejectReason.NotRelayedToSender,
                        $"this node did not give indicator {sighting.IndicatorId} of '{report.Origin}' to '{sender.IdText}', so sightings of it cannot come back from there");
                }
            }
        }

        return report.Origin == self
            ? await StoreAsync(sender, header, report, turn, ct).ConfigureAwait(false)
            : await ForwardAsync(sender, header, signed, report, turn, ct).ConfigureAwait(false);
    }

    /// <summary>At the origin: stores the entries about its own indicators under the reporter.</summary>
    private async Task<ReceiveOutcome> StoreAsync(PeerSettings sender, EnvelopeHeader header, SightingReport report, CommitTurn turn, CancellationToken ct)
    {
        var entries = new List<ReceivedSightingEntry>(report.Sightings.Count);
        var ignored = 0;
        foreach (var sighting in report.Sightings)
        {
            if (await indicatorStore.GetOwnViewAsync(sighting.IndicatorId, ct).ConfigureAwait(false) is null)
            {
                ignored++;
                continue;
            }

            entries.Add(new ReceivedSightingEntry(sighting.IndicatorId, sighting.Count, sighting.FirstSeen.ToDateTimeOffset(), sighting.LastSeen.ToDateTimeOffset(), [.. sighting.Sectors]));
        }

        var now = time.GetUtcNow();
        var relayed = header.HopCount > 0 ? $" (reported by {report.Reporter}, relayed by {sender.IdText}, hop {header.HopCount})" : "";
        AuditEntry[] audit =
        [
            new AuditEntry
            {
                Kind = AuditKinds.Sighting,
                Actor = sender.IdText,
                Subject = "report:" + Convert.ToHexStringLower(report.ReportId.Span),
                Decision = "sightings-received",
                Reason = $"{entries.Count} indicators, {entries.Sum(e => e.Count)} sightings" + (ignored > 0 ? $"; {ignored} entries ignored (not originated here)" : "") + relayed,
                DetailsJson = AuditDetails.Indicators(entries.Select(e => e.IndicatorId)),
            },
        ];
        var pending = await turn.EnqueueAsync(() => sightingsStore.CommitReceivedSightingsAsync(header.EnvelopeId.Memory, report.Reporter, report.ReportId.ToByteArray(), entries, audit, now, ct))
            .ConfigureAwait(false);
        switch (await pending.ConfigureAwait(false))
        {
            case SightingsCommit.DuplicateEnvelope:
                return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: envelope already committed");
            case SightingsCommit.AlreadyRecorded:
                return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: sighting report already received");
        }

        LifecycleLog.SightingsReceived(logger, report.Reporter, entries.Count);
        return new ReceiveOutcome(AckStatus.Accepted, "", entries.Count);
    }

    /// <summary>
    /// On the path back: passes the report, unchanged, to the peer this node got the indicators from, or withholds it
    /// (audited) when this node's policy towards that peer does not allow it or there is no single such peer.
    /// </summary>
    private async Task<ReceiveOutcome> ForwardAsync(PeerSettings sender, EnvelopeHeader header, SignedSightingReport signed, SightingReport report, CommitTurn turn,
        CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var nextHop = (int)header.HopCount + 1;
        var (upstream, withheld) = await NextHopAsync(sender, report, nextHop, ct).ConfigureAwait(false);
        OutboxItem? forward = null;
        if (withheld is null)
        {
            var payload = signed;
            if (signed.ReporterAnnouncement is null && directory.Find(report.Reporter) is { } keys)
            {
                payload = signed.Clone();
                payload.ReporterAnnouncement = keys.Signed;
            }

            forward = new OutboxItem(upstream!, Relaying.RandomId(), payload.ToByteArray(), 0, now, nextHop, PayloadKind.SightingReport);
        }

        var sightings = report.Sightings.Sum(e => (long)e.Count);
        AuditEntry[] audit =
        [
            new AuditEntry
            {
                Kind = AuditKinds.Sighting,
                Actor = sender.IdText,
                Subject = "report:" + Convert.ToHexStringLower(report.ReportId.Span),
                Decision = withheld is null ? "sightings-forwarded" : "sightings-withheld",
                Reason = withheld ?? $"to {upstream}, hop {nextHop}: report of {report.Reporter} for {report.Origin}, {report.Sightings.Count} indicators, {sightings} sightings",
                DetailsJson = AuditDetails.Indicators(report.Sightings.Select(e => e.IndicatorId)),
            },
        ];
        var pending = await turn.EnqueueAsync(() => sightingsStore.CommitForwardedSightingsAsync(header.EnvelopeId.Memory, sender.IdText, report.Reporter,
            report.ReportId.ToByteArray(), forward, audit, now, ct)).ConfigureAwait(false);
        switch (await pending.ConfigureAwait(false))
        {
            case ForwardCommit.DuplicateEnvelope:
                return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: envelope already committed");
            case ForwardCommit.AlreadyForwarded:
                return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: sighting report already forwarded");
        }

        if (forward is null)
        {
            LifecycleLog.SightingsWithheld(logger, report.Reporter, report.Origin, sender.IdText, withheld!);
        }
        else
        {
            LifecycleLog.SightingsForwarded(logger, report.Reporter, report.Origin, sender.IdText, header.HopCount, forward.Peer);
            outboxSignal.NotifyOutbox();
        }

        return new ReceiveOutcome(AckStatus.Accepted, "");
    }

    /// <summary>
    /// The peer the report goes to next (the origin when it is a peer, else the first peer that relayed every reported
    /// indicator here), or the reason it is withheld here.
    /// </summary>
    private async Task<(string? Peer, string? Withheld)> NextHopAsync(PeerSettings sender, SightingReport report, int nextHop, CancellationToken ct)
    {
        string? upstream = null;
        if (trustSnapshot.Current.Peers.ContainsKey(report.Origin))
        {
            upstream = report.Origin;
        }
        else
        {
            IEnumerable<string>? common = null;
            foreach (var sighting in report.Sightings)
            {
                var from = await sightingsStore.ReadReceivedFromAsync(sighting.IndicatorId, report.Origin, ct).ConfigureAwait(false);
                common = common is null ? from : common.Where(from.Contains).ToList();
            }

            upstream = common?.FirstOrDefault(p => p != sender.IdText && p != report.Reporter && trustSnapshot.Current.Peers.ContainsKey(p));
        }

        if (upstream is null || upstream == sender.IdText || upstream == report.Reporter)
        {
            return (null, $"no-path: no single peer other than the sender gave this node the reported indicators of {report.Origin}");
        }

        if (nextHop > MaxReportHops)
        {
            return (null, $"hop-limit: hop {nextHop} would exceed the {MaxReportHops} hops a sighting report may travel");
        }

        var config = trustSnapshot.Current.Config.Config.Peers.FirstOrDefault(p => p.Id == upstream);
        var level = config is not null && SightingsBackLevels.TryParse(config.SightingsBack, out var parsed) ? parsed : SightingsBackLevel.Off;
        if (level == SightingsBackLevel.Off)
        {
            return (null, $"sightings-back-off: this node's sightingsBack policy towards {upstream} is off");
        }

        if (level == SightingsBackLevel.Counts && report.Sightings.Any(e => e.Sectors.Count > 0))
        {
            return (null, $"sightings-back-counts: the report carries sectors and this node's sightingsBack policy towards {upstream} is counts");
        }

        return (upstream, null);
    }

    /// <summary>The first problem of a report's fields, or null.</summary>
    internal static string? CheckForm(SightingReport report, string sender, DateTimeOffset latest)
    {
        if (report.ReportId.Length != LifecycleReceiver.IdLength)
        {
            return $"report_id must be {LifecycleReceiver.IdLength} bytes, got {report.ReportId.Length}";
        }

        if (!SpiffeId.TryParse(report.Reporter, out var reporter, out var reporterError) || reporter.Kind != WorkloadKind.Gateway)
        {
            return "reporter is not a gateway SPIFFE id: " + (reporterError ?? report.Reporter);
        }

        if (!SpiffeId.TryParse(report.Origin, out var origin, out var originError) || origin.Kind != WorkloadKind.Gateway)
        {
            return "origin is not a gateway SPIFFE id: " + (originError ?? report.Origin);
        }

        if (report.Origin == sender || report.Origin == report.Reporter)
        {
            return $"origin '{report.Origin}' is the sender or the reporter";
        }

        if (report.PeriodStart is null || report.PeriodEnd is null)
        {
            return "period_start and period_end are required";
        }

        var problem = IndicatorLimits.CheckTimestamp(report.PeriodStart, "period_start", latest, out var start);
        if (problem is not null)
        {
            return problem;
        }

        problem = IndicatorLimits.CheckTimestamp(report.PeriodEnd, "period_end", latest, out var end);
        if (problem is not null)
        {
            return problem;
        }

        if (end < start)
        {
            return "period_end is before period_start";
        }

        if (report.Sightings.Count is 0 or > SightingsReport.MaxEntries)
        {
            return $"a report holds 1-{SightingsReport.MaxEntries} entries, this one {report.Sightings.Count}";
        }

        for (var i = 0; i < report.Sightings.Count; i++)
        {
            var s = report.Sightings[i];
            var at = $"sightings[{i}]";
            if (!Guid.TryParseExact(s.IndicatorId, "D", out var id) || id.ToString("D") != s.IndicatorId)
            {
                return $"{at}.indicator_id is not an indicator id";
            }

            if (s.Count == 0)
            {
                return $"{at}.count must be at least 1";
            }

            if (s.FirstSeen is null || s.LastSeen is null)
            {
                return $"{at}: first_seen and last_seen are required";
            }

            problem = IndicatorLimits.CheckTimestamp(s.FirstSeen, at + ".first_seen", latest, out var first);
            if (problem is not null)
            {
                return problem;
            }

            problem = IndicatorLimits.CheckTimestamp(s.LastSeen, at + ".last_seen", latest, out var last)
                ?? (last < first ? $"{at}.last_seen is before first_seen" : null)
                ?? (s.Sectors.Count > SightingsReport.MaxSectors ? $"{at}.sectors: more than {SightingsReport.MaxSectors}" : null)
                ?? s.Sectors.Select(x => IndicatorLimits.CheckName(x, at + ".sectors", 64)).FirstOrDefault(e => e is not null);
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }
}
