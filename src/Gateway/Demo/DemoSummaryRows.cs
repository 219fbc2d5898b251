using System.Globalization;

namespace CyberCoop.Gateway.Demo;

/// <summary>The summary's tables as rows of text, shared by the plain and the live output.</summary>
internal static class DemoSummaryRows
{
    public static IReadOnlyList<string> NationHeaders { get; } =
        ["nation", "agents", "ingested", "refused", "shared", "received", "withheld", "relayed", "RED in", "RED at home", "denied", "env. rejected", "stored"];

    public static IReadOnlyList<string> FlowHeaders { get; } = ["from", "to", "envelopes", "indicators"];

    public static IReadOnlyList<string> HostileHeaders { get; } = ["attempt", "target", "refused", "audited", "outcome"];

    public static IReadOnlyList<string> DecisionHeaders { get; } = ["decision", "count"];

    public static IReadOnlyList<IReadOnlyList<string>> Nations(DemoSummary summary) =>
        summary.Nations.Select(n => (IReadOnlyList<string>)
        [
            n.Nation, N(n.Agents), N(n.Ingested), N(n.IngestRejected), N(n.Shared), N(n.Received), N(n.Withheld), N(n.Relayed),
            N(n.RedIngested), N(n.RedKeptHome), N(n.Denied), N(n.EnvelopesRejected), N(n.Stored),
        ]).ToList();

    public static IReadOnlyList<IReadOnlyList<string>> Flows(DemoSummary summary) =>
        summary.Flows.Select(f => (IReadOnlyList<string>)[f.From, f.To, N(f.Envelopes), N(f.Indicators)]).ToList();

    public static IReadOnlyList<IReadOnlyList<string>> Hostile(DemoSummary summary) =>
        summary.Hostile.Select(h => (IReadOnlyList<string>)[h.Attempt, h.Target, h.Refused ? "yes" : "NO", h.Audited ? "yes" : h.Attempt == "replay" ? "n/a (answered)" : "NO", h.Outcome]).ToList();

    public static IReadOnlyList<IReadOnlyList<string>> Decisions(DemoSummary summary) =>
        summary.Decisions.Select(d => (IReadOnlyList<string>)[d.Key, N(d.Value)]).ToList();

    public static IEnumerable<string> Verdict(DemoSummary summary)
    {
        yield return summary.Ok
            ? string.Create(CultureInfo.InvariantCulture, $"OK: every nation shared and received, no TLP:RED left its country, every hostile attempt was refused ({summary.Seconds:0.0} s).")
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
