using System.Globalization;

namespace CyberCoop.Gateway.Demo;

/// <summary>The summary's tables as rows of text, shared by the plain and the live output.</summary>
internal static class DemoSummaryRows
{
    /// <summary>Headers of the per-nation table: one column per nation (it fits an 80-column terminal).</summary>
    public static IReadOnlyList<string> NationHeaders(IReadOnlyList<DemoNationSummary> nations) =>
        ["", .. nations.Select(n => n.Nation)];

    public static IReadOnlyList<string> FlowHeaders { get; } = ["from", "to", "envelopes", "indicators"];

    public static IReadOnlyList<string> HostileHeaders { get; } = ["attempt", "target", "refused", "audited", "outcome"];

    public static IReadOnlyList<string> DecisionHeaders { get; } = ["decision", "count"];

    /// <summary>The per-nation counters, one row per counter.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Nations(IReadOnlyList<DemoNationSummary> nations, bool final)
    {
        var rows = new List<IReadOnlyList<string>>
        {
            Row("agents (mTLS Ingest)", nations, n => n.Agents),
            Row("sightings ingested", nations, n => n.Ingested),
            Row("refused as malformed", nations, n => n.IngestRejected),
            Row("indicators shared", nations, n => n.Shared),
            Row("indicators received", nations, n => n.Received),
            Row("withheld by policy", nations, n => n.Withheld),
            Row("bundles relayed", nations, n => n.Relayed),
            Row("TLP:RED ingested", nations, n => n.RedIngested),
            Row("TLP:RED kept at home", nations, n => n.RedKeptHome),
            Row("calls denied", nations, n => n.Denied),
            Row("envelopes rejected", nations, n => n.EnvelopesRejected),
        };
        if (final)
        {
            rows.Add(Row("indicators stored", nations, n => n.Stored));
        }

        return rows;
    }

    private static IReadOnlyList<string> Row(string label, IReadOnlyList<DemoNationSummary> nations, Func<DemoNationSummary, long> value) =>
        [label, .. nations.Select(n => N(value(n)))];

    public static IReadOnlyList<IReadOnlyList<string>> Flows(DemoSummary summary) =>
        summary.Flows.Select(f => (IReadOnlyList<string>)[f.From, f.To, N(f.Envelopes), N(f.Indicators)]).ToList();

    public static IReadOnlyList<IReadOnlyList<string>> Hostile(DemoSummary summary) =>
        summary.Hostile.Select(h => (IReadOnlyList<string>)[h.Attempt, h.Target, h.Refused ? "yes" : "NO", h.Audited ? "yes" : h.Attempt == "replay" ? "n/a (answered)" : "NO", h.Outcome]).ToList();

    public static IReadOnlyList<string> LifecycleHeaders { get; } = ["lifecycle", ""];

    public static IReadOnlyList<IReadOnlyList<string>> Lifecycle(DemoSummary summary) => summary.Lifecycle is not { } l ? [] :
    [
        ["false positive", $"{l.Indicator}, published and withdrawn by {l.Origin}"],
        ["withdrawal recorded at", l.WithdrawnAt.Count == 0 ? "NOWHERE" : string.Join("; ", l.WithdrawnAt)],
        ["sightings back to " + l.Origin, l.SightingsBack.Count == 0 ? "NONE" : string.Join("; ", l.SightingsBack)],
    ];

    public static IReadOnlyList<string> InteropHeaders { get; } = ["standard interface", ""];

    public static IReadOnlyList<IReadOnlyList<string>> Interop(DemoSummary summary) => summary.Interop is not { } i ? [] :
    [
        [$"STIX 2.1 export ({i.Nation})", $"{N(i.StixObjects)} objects in {i.StixFile}"],
        [$"TAXII 2.1 pull ({i.Nation})", $"{N(i.TaxiiObjects)} objects from \"{i.TaxiiCollection}\" in {N(i.TaxiiPages)} pages, analyst certificate over HTTPS"],
        [$"MISP feed export ({i.Nation})", $"{N(i.MispEvents)} events, {N(i.MispAttributes)} attributes in {i.MispFolder}"],
    ];

    public static IReadOnlyList<IReadOnlyList<string>> Decisions(DemoSummary summary) =>
        summary.Decisions.Select(d => (IReadOnlyList<string>)[d.Key, N(d.Value)]).ToList();

    public static IEnumerable<string> Verdict(DemoSummary summary)
    {
        yield return summary.Ok
            ? string.Create(CultureInfo.InvariantCulture, $"OK: every nation shared and received, no TLP:RED left its country, every hostile attempt was refused, the withdrawn false positive reached every nation that had it and sightings flowed back to its origin, by relay too ({summary.Seconds:0.0} s).")
            : string.Create(CultureInfo.InvariantCulture, $"FAILED after {summary.Seconds:0.0} s:");
        foreach (var problem in summary.Problems)
        {
            yield return "  - " + problem;
        }

        yield return summary.Kept
            ? $"Files kept in {summary.Directory} (gateway.json, certificates, gateway.db with the audit log of each nation)."
            : "Cleaned up: gateways stopped, ports and sockets closed, files removed.";
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);
}
