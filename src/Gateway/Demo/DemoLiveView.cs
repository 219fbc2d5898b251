using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace CyberCoop.Gateway.Demo;

/// <summary>
/// The live terminal view (Spectre.Console, only on a TTY): counters per nation, the flows between
/// nations, and a scrolling feed of policy decisions read from the nodes' audit logs.
/// </summary>
internal sealed class DemoLiveView : IDemoObserver
{
    private const int FeedLines = 16;
    private readonly Lock _gate = new();
    private readonly Queue<DemoEvent> _feed = new();
    private DemoSnapshot? _snapshot;

    public void OnEvent(DemoEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Kind == DemoEventKind.Phase && e.Source == "demo" && e.Nation != "--")
        {
            // Agent batches are visible in the counters; keep the feed for decisions.
            return;
        }

        lock (_gate)
        {
            _feed.Enqueue(e);
            while (_feed.Count > FeedLines)
            {
                _feed.Dequeue();
            }
        }
    }

    public void OnTick(DemoSnapshot snapshot)
    {
        lock (_gate)
        {
            _snapshot = snapshot;
        }
    }

    /// <summary>Runs <paramref name="run"/> while redrawing the view a few times a second.</summary>
    public async Task<T> RunAsync<T>(IAnsiConsole console, Func<Task<T>> run)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(run);
        T result = default!;
        await console.Live(Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async ctx =>
        {
            var work = run();
            while (!work.IsCompleted)
            {
                ctx.UpdateTarget(Render());
                await Task.WhenAny(work, Task.Delay(200)).ConfigureAwait(false);
            }

            ctx.UpdateTarget(Render());
            result = await work.ConfigureAwait(false);
        }).ConfigureAwait(false);
        return result;
    }

    private IRenderable Render()
    {
        DemoSnapshot? snapshot;
        DemoEvent[] feed;
        lock (_gate)
        {
            snapshot = _snapshot;
            feed = _feed.ToArray();
        }

        var header = new Markup(snapshot is null
            ? "[bold]CyberCoop[/] three-nation demo: starting..."
            : string.Create(CultureInfo.InvariantCulture,
                $"[bold]CyberCoop[/] three-nation demo  [grey]{snapshot.Elapsed.TotalSeconds:0.0}s[/]  {Markup.Escape(snapshot.Phase)}"));

        var nationList = snapshot?.Nations ?? [];
        var nations = new Table().Border(TableBorder.Rounded).Title("[bold]nations[/]");
        foreach (var column in DemoSummaryRows.NationHeaders(nationList))
        {
            nations.AddColumn(new TableColumn(Markup.Escape(column)).RightAligned());
        }

        foreach (var row in DemoSummaryRows.Nations(nationList, final: false))
        {
            var style = row[0] switch
            {
                "indicators shared" => "green",
                "indicators received" => "cyan",
                "withheld by policy" => "yellow",
                "TLP:RED kept at home" => "red",
                "calls denied" or "envelopes rejected" => "magenta",
                _ => "default",
            };
            nations.AddRow(row.Select((cell, i) => (IRenderable)new Markup(i == 0 ? Markup.Escape(cell) : $"[{style}]{Markup.Escape(cell)}[/]")).ToArray());
        }

        var flows = new Table().Border(TableBorder.Rounded).Title("[bold]flows[/]").AddColumn("").AddColumn(new TableColumn("indicators").RightAligned()).AddColumn(new TableColumn("envelopes").RightAligned());
        foreach (var f in snapshot?.Flows ?? [])
        {
            flows.AddRow(new Markup($"{Markup.Escape(f.From)} [green]──▶[/] {Markup.Escape(f.To)}"), Num(f.Indicators), Num(f.Envelopes));
        }

        var progress = new BreakdownChart().Width(40).HideTags()
            .AddItem("done", Math.Max(0.001, (snapshot?.Progress ?? 0) * 100), Color.Green)
            .AddItem("left", Math.Max(0.001, (1 - (snapshot?.Progress ?? 0)) * 100), Color.Grey23);

        var decisions = new Table().Border(TableBorder.Rounded).Title("[bold]policy decisions (from the nodes' audit logs)[/]").Expand()
            .AddColumn(new TableColumn("t").RightAligned()).AddColumn("node").AddColumn("decision").AddColumn("why");
        foreach (var e in feed)
        {
            decisions.AddRow(
                new Text(string.Create(CultureInfo.InvariantCulture, $"{e.At.TotalSeconds:0.0}s"), new Style(Color.Grey)),
                new Text(e.Nation),
                new Markup($"[{Colour(e.Kind)}]{Markup.Escape(DemoPlainView.Label(e.Kind))}[/]"),
                new Text(e.Text));
        }

        return new Rows(header, progress, new Columns(nations, flows) { Expand = false }, decisions);
    }

    /// <summary>Writes the summary tables with Spectre.</summary>
    public static void WriteSummary(IAnsiConsole console, DemoSummary summary)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(summary);
        console.Write(new Rule("[bold]summary[/]"));
        console.Write(Table("nations", DemoSummaryRows.NationHeaders(summary.Nations), DemoSummaryRows.Nations(summary.Nations, final: true)));
        console.Write(Table("flows (indicators delivered, counted on the receiver's signed ack)", DemoSummaryRows.FlowHeaders, DemoSummaryRows.Flows(summary)));
        console.Write(Table("hostile attempts", DemoSummaryRows.HostileHeaders, DemoSummaryRows.Hostile(summary)));
        console.Write(Table("intelligence lifecycle", DemoSummaryRows.LifecycleHeaders, DemoSummaryRows.Lifecycle(summary)));
        console.Write(Table("interoperability", DemoSummaryRows.InteropHeaders, DemoSummaryRows.Interop(summary)));
        console.Write(Table("decisions in the audit logs", DemoSummaryRows.DecisionHeaders, DemoSummaryRows.Decisions(summary)));
        foreach (var line in DemoSummaryRows.Verdict(summary))
        {
            console.MarkupLine(summary.Ok ? $"[green]{Markup.Escape(line)}[/]" : $"[red]{Markup.Escape(line)}[/]");
        }
    }

    private static Table Table(string title, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(title)}[/]");
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(Markup.Escape(header)));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(cell => (IRenderable)new Text(cell)).ToArray());
        }

        return table;
    }

    private static Text Num(long value) => new(value.ToString(CultureInfo.InvariantCulture));

    private static string Colour(DemoEventKind kind) => kind switch
    {
        DemoEventKind.Shared or DemoEventKind.Relayed => "green",
        DemoEventKind.Received => "cyan",
        DemoEventKind.Withheld or DemoEventKind.RelayRefused or DemoEventKind.Quarantined => "yellow",
        DemoEventKind.RedKeptHome => "red",
        DemoEventKind.Rejected or DemoEventKind.Denied or DemoEventKind.IngestRejected => "magenta",
        DemoEventKind.Hostile => "red bold",
        _ => "grey",
    };
}
