using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Demo;

/// <summary>
/// Follows the audit logs of the demo's nodes and turns their entries into lines of the decision
/// feed: every line shown comes from a node's own hash-chained audit log, not from the demo's guess.
/// Per-indicator entries of one envelope (received, rejected, quarantined) are folded into one line.
/// Also counts every decision by kind and reason for the summary.
/// </summary>
internal sealed partial class DemoAuditFeed(IReadOnlySet<string> redIndicatorIds)
{
    private const int TailSize = 2000;
    private readonly Dictionary<string, long> _lastSeq = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    /// <summary>Indicators (or entries, for envelope-level decisions) per "kind:reason".</summary>
    public IReadOnlyDictionary<string, long> Counts => _counts;

    /// <summary>Distinct TLP:RED indicators each nation (by code) has so far held back from a peer.</summary>
    public Dictionary<string, HashSet<string>> RedHeld { get; } = new(StringComparer.Ordinal);

    /// <summary>Relays made, per nation code.</summary>
    public Dictionary<string, long> Relays { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the entries appended to <paramref name="store"/>'s audit log since the last poll.</summary>
    public async Task<IReadOnlyList<DemoEvent>> PollAsync(string nation, AuditLog auditLog, TimeSpan at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(auditLog);
        var last = _lastSeq.GetValueOrDefault(nation);
        var fresh = new List<AuditEntry>();
        await foreach (var entry in auditLog.TailAsync(TailSize, ct).ConfigureAwait(false))
        {
            if (entry.Seq > last)
            {
                fresh.Add(entry);
            }
        }

        if (fresh.Count > 0)
        {
            _lastSeq[nation] = fresh[^1].Seq;
        }

        var events = new List<DemoEvent>();
        var folded = new Dictionary<(string Kind, string Actor, string Reason), int>();
        foreach (var entry in fresh)
        {
            if (entry.Kind == AuditKinds.Quarantined
                || (entry.Kind == AuditKinds.Rejected && !entry.Subject.StartsWith("envelope:", StringComparison.Ordinal) && entry.Subject != "trust-bundle"))
            {
                var key = (entry.Kind, entry.Actor, entry.Reason);
                folded[key] = folded.GetValueOrDefault(key) + 1;
                Count($"{entry.Kind}:{Code(entry.Reason.Split(':')[0])}", 1);
                continue;
            }

            if (Describe(nation, entry, at) is { } e)
            {
                events.Add(e);
            }
        }

        foreach (var ((kind, actor, reason), count) in folded)
        {
            var from = Codes(actor);
            events.Add(kind switch
            {
                AuditKinds.Quarantined => new DemoEvent(at, nation, DemoEventKind.Quarantined, $"quarantined {count} from {from}: {Codes(reason)}", "audit"),
                _ => new DemoEvent(at, nation, DemoEventKind.Rejected, $"refused {count} indicator(s) from {from}: {Codes(reason)}", "audit"),
            });
        }

        return events;
    }

    private DemoEvent? Describe(string nation, AuditEntry entry, TimeSpan at)
    {
        switch (entry.Kind)
        {
            case AuditKinds.Received when entry.Decision == "accepted":
            {
                // One entry per received bundle, the accepted indicator ids in the details.
                var n = IndicatorIds(entry.DetailsJson).Count;
                Count("received", n);
                var reason = entry.Reason;
                var cut = reason.LastIndexOf(", ", StringComparison.Ordinal);
                if (cut > 0 && reason.EndsWith(" indicators", StringComparison.Ordinal))
                {
                    reason = reason[..cut];
                }

                return new DemoEvent(at, nation, DemoEventKind.Received, $"accepted {n} from {Codes(entry.Actor)} ({Codes(reason)})", "audit");
            }

            case AuditKinds.Received:
                Count("received-dropped:" + entry.Reason, 1);
                return new DemoEvent(at, nation, DemoEventKind.Rejected, $"dropped a copy from {Codes(entry.Actor)}: {entry.Reason} (loop prevention by origin and bundle id)", "audit");
            case AuditKinds.Shared when entry.Decision == "relayed":
                Count("relayed", 1);
                Relays[nation] = Relays.GetValueOrDefault(nation) + 1;
                return new DemoEvent(at, nation, DemoEventKind.Relayed, "relayed a bundle " + Codes(entry.Reason) + " (origin signature kept)", "audit");
            case AuditKinds.Shared:
            {
                var n = IndicatorIds(entry.DetailsJson).Count;
                Count("shared", n);
                var redacted = entry.Reason.IndexOf(" redacted ", StringComparison.Ordinal);
                var what = redacted < 0 ? "" : "; redacted: " + entry.Reason[(redacted + " redacted ".Length)..];
                return new DemoEvent(at, nation, DemoEventKind.Shared, $"shared {n} with {Codes(entry.Subject)}: signed, sealed for {Codes(entry.Subject)} only{what}", "audit");
            }

            case AuditKinds.Withheld when entry.Decision == "relay-withheld":
                Count("relay-withheld:" + Code(After(entry.Reason, ": ").Split(':')[0]), 1);
                return new DemoEvent(at, nation, DemoEventKind.RelayRefused, "did not relay a bundle " + Codes(entry.Reason), "audit");
            case AuditKinds.Withheld:
            {
                var ids = IndicatorIds(entry.DetailsJson);
                var red = ids.Count(redIndicatorIds.Contains);
                var other = ids.Count - red;
                Count("withheld:" + entry.Reason, ids.Count);
                if (red > 0)
                {
                    Count("withheld-red-per-peer", red);
                    if (!RedHeld.TryGetValue(nation, out var held))
                    {
                        RedHeld[nation] = held = new HashSet<string>(StringComparer.Ordinal);
                    }

                    held.UnionWith(ids.Where(redIndicatorIds.Contains));
                }

                if (red > 0 && other == 0)
                {
                    return new DemoEvent(at, nation, DemoEventKind.RedKeptHome, $"kept {red} TLP:RED at home, not sent to {Codes(entry.Subject)} ({entry.Reason})", "audit");
                }

                var redNote = red > 0 ? $", {red} of them TLP:RED kept at home" : "";
                return new DemoEvent(at, nation, red > 0 ? DemoEventKind.RedKeptHome : DemoEventKind.Withheld,
                    $"withheld {ids.Count} from {Codes(entry.Subject)}: {entry.Reason}{redNote}", "audit");
            }

            case AuditKinds.Rejected when entry.Decision == "rejected-by-peer":
                Count("rejected-by-peer:" + Code(entry.Reason.Split(':')[0]), 1);
                return new DemoEvent(at, nation, DemoEventKind.Rejected, $"its envelope was refused by {Codes(entry.Actor)}: {Codes(entry.Reason)}", "audit");
            case AuditKinds.Rejected:
                Count("rejected:" + Code(entry.Reason.Split(':')[0]), 1);
                return new DemoEvent(at, nation, DemoEventKind.Rejected, $"rejected {Describe(entry.Subject)} from {Codes(entry.Actor)}: {Codes(entry.Reason)}", "audit");
            case AuditKinds.Denied:
                Count("denied:" + entry.Subject, 1);
                return new DemoEvent(at, nation, DemoEventKind.Denied, $"denied {entry.Subject} to '{entry.Actor}': {Codes(entry.Reason)}", "audit");
            case AuditKinds.IngestRejected:
                Count("ingest-rejected", 1);
                return new DemoEvent(at, nation, DemoEventKind.IngestRejected, $"rejected a sighting from {AgentName(entry.Actor)}: {entry.Reason}", "audit");
            case AuditKinds.Delivered:
                Count("delivered:" + entry.Decision, 1);
                return null;
            default:
                return null;
        }
    }

    private void Count(string key, long n) => _counts[key] = _counts.GetValueOrDefault(key) + n;

    private static string Describe(string subject) =>
        subject.StartsWith("envelope:", StringComparison.Ordinal) ? "envelope " + subject["envelope:".Length..][..Math.Min(8, subject.Length - "envelope:".Length)] : subject;

    private static string After(string text, string separator)
    {
        var i = text.IndexOf(separator, StringComparison.Ordinal);
        return i < 0 ? text : text[(i + separator.Length)..];
    }

    private static string Code(string reason) => reason.Trim();

    private static string AgentName(string spiffeId)
    {
        var i = spiffeId.LastIndexOf('/');
        return i < 0 ? spiffeId : "agent " + spiffeId[(i + 1)..];
    }

    /// <summary>Indicator ids listed in an entry's details (<c>{"indicators":[...]}</c>).</summary>
    private static List<string> IndicatorIds(string detailsJson)
    {
        var ids = new List<string>();
        using var document = JsonDocument.Parse(detailsJson);
        if (document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("indicators", out var list)
            && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var id in list.EnumerateArray())
            {
                if (id.GetString() is { } s)
                {
                    ids.Add(s);
                }
            }
        }

        return ids;
    }

    /// <summary>Replaces gateway SPIFFE ids by their nation code ("spiffe://ee.cybercoop/gateway/tallinn" -> "EE").</summary>
    public static string Codes(string text) =>
        GatewayId().Replace(text, m => m.Groups[1].Value.ToUpper(CultureInfo.InvariantCulture));

    [GeneratedRegex(@"spiffe://([a-z0-9-]+)\.[a-z0-9.-]+/gateway/[A-Za-z0-9._-]+", RegexOptions.CultureInvariant)]
    private static partial Regex GatewayId();
}
