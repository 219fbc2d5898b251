using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CyberCoop.Gateway.Demo;
using Spectre.Console;

namespace CyberCoop.Gateway.Cli;

/// <summary><c>demo</c>: three nations, three real gateways and six agents on loopback, in under 30 seconds.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var duration = new Option<int>("--duration")
        {
            Description = "Seconds the agents replay and the federation drains, 3..600 (start-up, the attacks, the interop and lifecycle steps and the summary come on top: about 25 s in all with the default on a 2-core machine).",
            DefaultValueFactory = _ => (int)DemoOptions.DefaultDuration.TotalSeconds,
        };
        duration.Validators.Add(result =>
        {
            // A value that is not a number is reported by the parser itself.
            if (result.Tokens.Count == 0 || !int.TryParse(result.Tokens[^1].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                return;
            }

            if (value < DemoOptions.MinDuration.TotalSeconds || value > DemoOptions.MaxDuration.TotalSeconds)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture,
                    $"--duration must be {DemoOptions.MinDuration.TotalSeconds}..{DemoOptions.MaxDuration.TotalSeconds} seconds, not {value}"));
            }
        });
        var noLive = new Option<bool>("--no-live") { Description = "Plain line output instead of the live view (the default when stdout is not a terminal)." };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON on stdout (progress lines go to stderr)." };
        var dir = new Option<DirectoryInfo>("--dir") { Description = "Build the federation in this (empty) folder instead of a fresh temporary one." };
        var keep = new Option<bool>("--keep") { Description = "Leave certificates, configs, databases and audit logs on disk afterwards." };
        var consoles = new Option<bool>("--console")
        {
            Description = "After the demo, keep the three nations running with their operator web consoles on, print each console's URL " +
                "and the development operator certificates to present, and stop on Ctrl-C (then print the summary). Implies --no-live.",
        };
        var command = new Command("demo",
            "Show CyberCoop at work on one machine: three nations (Estonia, Finland, Latvia) with their own roots, " +
            "three gateways as real mTLS servers on loopback with differing per-peer policies, six sensor agents " +
            "replaying a built-in sample of detections, a live feed of every sharing decision from the audit logs, " +
            "and a hostile moment (replayed and forged envelopes, an unpinned node, a trust bundle forged with a stolen gateway key) being refused. Cleans up after itself.\n\n" +
            "Example:\n  dotnet run --project src/Gateway -- demo\n  dotnet run --project src/Gateway -- demo --console   # then open the printed URLs")
        {
            duration,
            noLive,
            json,
            dir,
            keep,
            consoles,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var options = new DemoOptions
            {
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                Directory = parse.GetValue(dir)?.FullName,
                Keep = parse.GetValue(keep),
                WhileConsolesRun = parse.GetValue(consoles) ? (federation, token) => ConsolesAsync(federation, io.Error, token) : null,
            };
            var asJson = parse.GetValue(json);
            var live = io.IsTerminal && !parse.GetValue(noLive) && !asJson && !parse.GetValue(consoles);
            DemoSummary summary;
            if (live)
            {
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(io.Output) });
                var view = new DemoLiveView();
                summary = await view.RunAsync(console, () => new DemoRunner(options, view).RunAsync(ct)).ConfigureAwait(false);
                DemoLiveView.WriteSummary(console, summary);
            }
            else
            {
                var lines = asJson ? io.Error : io.Output;
                summary = await new DemoRunner(options, new DemoPlainView(lines)).RunAsync(ct).ConfigureAwait(false);
                DemoPlainView.WriteSummary(lines, summary);
            }

            if (asJson)
            {
                await io.Output.WriteLineAsync(JsonSerializer.Serialize(summary, DemoJsonContext.Default.DemoSummary)).ConfigureAwait(false);
            }

            return summary.Ok ? CliExitCodes.Success : CliExitCodes.Failure;
        });
        return command;
    }

    /// <summary>Prints each nation's console URL and operator certificates, then waits for Ctrl-C.</summary>
    private static async Task ConsolesAsync(DemoFederation federation, TextWriter output, CancellationToken ct)
    {
        await output.WriteLineAsync("operator consoles (the nations keep running; Ctrl-C stops them):").ConfigureAwait(false);
        for (var i = 0; i < federation.Nodes.Count; i++)
        {
            var node = federation.Layout.Nodes[i];
            var (certificate, key) = DemoFederation.OperatorCertificate(node, DemoFederation.ConsoleOperator);
            var (viewer, _) = DemoFederation.OperatorCertificate(node, DemoFederation.ConsoleViewer);
            await output.WriteLineAsync($"  {federation.Code(i)}  {federation.Nodes[i].ConsoleUrl}").ConfigureAwait(false);
            await output.WriteLineAsync($"      operator certificate {certificate} (key {key}; role operator); read-only: {viewer}").ConfigureAwait(false);
        }

        await output.WriteLineAsync("  import a certificate into the browser as PKCS#12 (openssl pkcs12 -export -in <crt> -inkey <key> -out op.p12); " +
            "the browser warns about the node's certificate until you import that nation's root (<demo folder>/<domain>/root.crt) as an authority (docs/operator-guide.md)").ConfigureAwait(false);
        await output.FlushAsync(ct).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
