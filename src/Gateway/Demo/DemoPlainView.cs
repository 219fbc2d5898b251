using System.Globalization;

namespace CyberCoop.Gateway.Demo;

/// <summary>Plain line output for non-terminals and CI: one line per decision, stable and greppable.</summary>
internal sealed class DemoPlainView(TextWriter output) : IDemoObserver
{
    private readonly Lock _gate = new();

    public void OnEvent(DemoEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        lock (_gate)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{e.At.TotalSeconds,5:0.0}s] {e.Nation,-2}  {Label(e.Kind),-15} {e.Text}"));
        }
    }

    public void OnTick(DemoSnapshot snapshot)
    {
        // Counters are printed once, in the summary.
    }

    /// <summary>Short label of a kind, shared with the live view.</summary>
    public static string Label(DemoEventKind kind) => kind switch
    {
        DemoEventKind.Phase => "demo",
        DemoEventKind.Shared => "shared",
        DemoEventKind.Withheld => "withheld",
        DemoEventKind.RedKeptHome => "RED kept home",
        DemoEventKind.Relayed => "relayed",
        DemoEventKind.RelayRefused => "relay refused",
        DemoEventKind.Received => "received",
        DemoEventKind.Quarantined => "quarantined",
        DemoEventKind.IngestRejected => "ingest refused",
        DemoEventKind.Rejected => "rejected",
        DemoEventKind.Denied => "denied",
        DemoEventKind.Hostile => "HOSTILE",
        _ => kind.ToString(),
    };

    /// <summary>Writes the summary as aligned plain tables.</summary>
    public static void WriteSummary(TextWriter output, DemoSummary summary)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(summary);
        output.WriteLine();
        output.WriteLine("Summary");
        Table(output, DemoSummaryRows.NationHeaders(summary.Nations), DemoSummaryRows.Nations(summary.Nations, final: true));
        output.WriteLine();
        output.WriteLine("Flows (indicators delivered, counted on the receiver's signed ack)");
        Table(output, DemoSummaryRows.FlowHeaders, DemoSummaryRows.Flows(summary));
        output.WriteLine();
        output.WriteLine("Hostile attempts");
        Table(output, DemoSummaryRows.HostileHeaders, DemoSummaryRows.Hostile(summary));
        output.WriteLine();
        output.WriteLine("Intelligence lifecycle");
        Table(output, DemoSummaryRows.LifecycleHeaders, DemoSummaryRows.Lifecycle(summary));
        output.WriteLine();
        output.WriteLine("Interoperability");
        Table(output, DemoSummaryRows.InteropHeaders, DemoSummaryRows.Interop(summary));
        output.WriteLine();
        output.WriteLine("Decisions in the audit logs");
        Table(output, DemoSummaryRows.DecisionHeaders, DemoSummaryRows.Decisions(summary));
        output.WriteLine();
        foreach (var line in DemoSummaryRows.Verdict(summary))
        {
            output.WriteLine(line);
        }
    }

    private static void Table(TextWriter output, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in rows)
        {
            for (var i = 0; i < widths.Length && i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        Row(output, headers, widths);
        foreach (var row in rows)
        {
            Row(output, row, widths);
        }
    }

    private static void Row(TextWriter output, IReadOnlyList<string> cells, int[] widths)
    {
        var parts = new string[widths.Length];
        for (var i = 0; i < widths.Length; i++)
        {
            var cell = i < cells.Count ? cells[i] : "";
            parts[i] = i == widths.Length - 1 ? cell : cell.PadRight(widths[i]);
        }

        output.WriteLine("  " + string.Join("  ", parts).TrimEnd());
    }
}
