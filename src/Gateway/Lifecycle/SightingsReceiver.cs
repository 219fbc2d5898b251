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
/// Receives sighting reports at the origin. A report is accepted only from the reporter itself (hop 0, reporter = the
/// mTLS sender, addressed to this node), well formed, signed by the reporter's announced key under the sighting-report
/// context. Entries for indicators this node did not originate are ignored (counted in the audit); the rest are
/// stored per reporter and report id, so a replayed report adds nothing.
/// </summary>
internal sealed class SightingsReceiver(GatewayRuntime runtime, PeerKeyDirectory directory, ILogger<SightingsReceiver> logger)
{
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

        if (header.HopCount != 0)
        {
            return ReceiveOutcome.Reject(RejectReason.RelayNotEntitled, "sighting reports are not relayed; only the reporter may send one");
        }

        var self = runtime.Identity.IdText;
        var latest = runtime.Time.GetUtcNow() + TimeSpan.FromSeconds(runtime.Trust.Config.Config.Node.MaxClockSkewSeconds);
        var formError = CheckForm(report, sender.IdText, self, latest);
        if (formError is not null)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedSightingReport, formError);
        }

        var (key, keyError) = await OriginKeyResolver.ResolveAsync(runtime, runtime, directory, sender.Id, signed.SignerKeyId.Memory, 0, null, ct).ConfigureAwait(false);
        if (key is null)
        {
            return keyError!;
        }

        var periodEnd = report.PeriodEnd.ToDateTimeOffset();
        if (Suites.SignedWith(key.Key.Algorithm) != signed.Suite
            || !key.ValidAt(periodEnd, TimeSpan.FromSeconds(runtime.Trust.Config.Config.Node.MaxClockSkewSeconds))
            || !ContentSignatures.Verify(SignaturePurpose.SightingReport, signed.Report.Span, signed.Signature.Span, key.Key))
        {
            return ReceiveOutcome.Reject(RejectReason.BadSignature, "the reporter's signature over the sighting report does not verify");
        }

        var entries = new List<ReceivedSightingEntry>(report.Sightings.Count);
        var ignored = 0;
        foreach (var sighting in report.Sightings)
        {
            if (await runtime.Store.GetOwnViewAsync(sighting.IndicatorId, ct).ConfigureAwait(false) is null)
            {
                ignored++;
                continue;
            }

            entries.Add(new ReceivedSightingEntry(sighting.IndicatorId, sighting.Count, sighting.FirstSeen.ToDateTimeOffset(), sighting.LastSeen.ToDateTimeOffset(), [.. sighting.Sectors]));
        }

        var now = runtime.Time.GetUtcNow();
        AuditEntry[] audit =
        [
            new AuditEntry
            {
                Kind = AuditKinds.Sighting,
                Actor = sender.IdText,
                Subject = "report:" + Convert.ToHexStringLower(report.ReportId.Span),
                Decision = "sightings-received",
                Reason = $"{entries.Count} indicators, {entries.Sum(e => e.Count)} sightings" + (ignored > 0 ? $"; {ignored} entries ignored (not originated here)" : ""),
                DetailsJson = AuditDetails.Indicators(entries.Select(e => e.IndicatorId)),
            },
        ];
        var pending = await turn.EnqueueAsync(() => runtime.Store.CommitReceivedSightingsAsync(header.EnvelopeId.Memory, sender.IdText, report.ReportId.ToByteArray(), entries, audit, now, ct))
            .ConfigureAwait(false);
        if (!await pending.ConfigureAwait(false))
        {
            return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: envelope already committed");
        }

        LifecycleLog.SightingsReceived(logger, sender.IdText, entries.Count);
        return new ReceiveOutcome(AckStatus.Accepted, "", entries.Count);
    }

    /// <summary>The first problem of a report's fields, or null.</summary>
    internal static string? CheckForm(SightingReport report, string sender, string self, DateTimeOffset latest)
    {
        if (report.ReportId.Length != LifecycleReceiver.IdLength)
        {
            return $"report_id must be {LifecycleReceiver.IdLength} bytes, got {report.ReportId.Length}";
        }

        if (report.Reporter != sender)
        {
            return $"reporter '{report.Reporter}' is not the sender '{sender}'";
        }

        if (report.Origin != self)
        {
            return $"origin '{report.Origin}' is not this node";
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
