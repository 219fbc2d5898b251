using System.CommandLine;
using Spectre.Console;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// Where a command writes: stdout for results, stderr for errors and hints, Spectre tables only on a
/// terminal (plain, stable text otherwise, so output can be piped and parsed).
/// </summary>
internal sealed class CliIo
{
    private CliIo(TextWriter output, TextWriter error, bool isTerminal, OperatorPrompt prompt)
    {
        Output = output;
        Error = error;
        IsTerminal = isTerminal;
        Prompt = prompt;
    }

    /// <summary>Results.</summary>
    public TextWriter Output { get; }

    /// <summary>Errors, warnings and hints.</summary>
    public TextWriter Error { get; }

    /// <summary>True when stdout is an interactive terminal (rich tables are used then).</summary>
    public bool IsTerminal { get; }

    /// <summary>Asks the operator for confirmation when a terminal is attached.</summary>
    public OperatorPrompt Prompt { get; }

    /// <summary>The writers of an invocation; stdout counts as a terminal only when it is the real, unredirected console.</summary>
    public static CliIo From(ParseResult parseResult, OperatorPrompt prompt)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        var isTerminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        return new CliIo(output, error, isTerminal, prompt);
    }

    /// <summary>Writers that capture what a command's code prints (the web console runs CLI edits this way); never interactive.</summary>
    public static CliIo Capture(TextWriter output, TextWriter error) => new(output, error, false, new OperatorPrompt());

    /// <summary>Writes a table: Spectre on a terminal, aligned plain columns otherwise.</summary>
    public void WriteTable(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var materialized = rows.ToList();
        if (IsTerminal)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Output) });
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var header in headers)
            {
                table.AddColumn(new TableColumn(Markup.Escape(header)));
            }

            foreach (var row in materialized)
            {
                table.AddRow(row.Select(cell => (Spectre.Console.Rendering.IRenderable)new Text(cell)).ToArray());
            }

            console.Write(table);
            return;
        }

        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in materialized)
        {
            for (var i = 0; i < widths.Length && i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        WriteRow(headers, widths);
        foreach (var row in materialized)
        {
            WriteRow(row, widths);
        }
    }

    private void WriteRow(IReadOnlyList<string> cells, int[] widths)
    {
        var parts = new string[widths.Length];
        for (var i = 0; i < widths.Length; i++)
        {
            var cell = i < cells.Count ? cells[i] : "";
            parts[i] = i == widths.Length - 1 ? cell : cell.PadRight(widths[i]);
        }

        Output.WriteLine(string.Join("  ", parts).TrimEnd());
    }
}
