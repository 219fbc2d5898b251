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
            Description = "Seconds the agents replay and the federation drains (start-up and summary add about 2 s).",
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
        var command = new Command("demo",
            "Show CyberCoop at work on one machine: three nations (Estonia, Finland, Latvia) with their own roots, " +
            "three gateways as real mTLS servers on loopback with differing per-peer policies, six sensor agents " +
            "replaying a built-in sample of detections, a live feed of every sharing decision from the audit logs, " +
            "and a hostile moment (replayed and forged envelopes, an unpinned node, a trust bundle forged with a stolen gateway key) being refused. Cleans up after itself.\n\n" +
            "Example:\n  dotnet run --project src/Gateway -- demo")
        {
            duration,
            noLive,
            json,
            dir,
            keep,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var options = new DemoOptions
            {
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                Directory = parse.GetValue(dir)?.FullName,
                Keep = parse.GetValue(keep),
            };
            var asJson = parse.GetValue(json);
            var live = io.IsTerminal && !parse.GetValue(noLive) && !asJson;
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
}
