using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CyberCoop.Testing;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>
/// docs/operator-guide.md sections 0 to 8, run as printed: every <c>```sh</c> block of those sections is taken from
/// the markdown itself, in order, and run in one bash session (real <c>dotnet run</c>, real gateways and agent
/// processes, real files) starting in an empty folder, until Finland holds the indicator Estonia's agent saw.
/// </summary>
/// <remarks>
/// The text is run unchanged except for these substitutions, which a test must make:
/// <list type="number">
/// <item><c>~/cybercoop</c> (where the reader cloned the repository) becomes this repository's path, and
/// <c>~/federation</c> a fresh temporary folder.</item>
/// <item>The ports <c>7401</c> and <c>7402</c> become two free loopback ports (tests run in parallel).</item>
/// <item>A command whose comment starts with <c># terminal N</c> is started in the background (the reader's other
/// terminal) with its output in <c>terminal-N.log</c>; the session goes on once it has printed
/// <c>listening on</c> (a gateway) or anything at all (other commands), as the reader waits for it, and every such
/// command is stopped (SIGTERM) when the session ends.</item>
/// <item>A block right after the line <c>&lt;!-- guide test: skip (reason) --&gt;</c> is not run.</item>
/// <item>The last block (section 8) is first repeated until its output holds the alert's address, for up to
/// three minutes, as the reader runs it again when the indicator has not arrived yet; then it runs once more.</item>
/// </list>
/// The session runs with <c>set -euo pipefail</c>: the first failing command fails the test.
/// </remarks>
public sealed class OperatorGuideTests : IDisposable
{
    private static readonly TimeSpan s_sessionTimeout = TimeSpan.FromMinutes(20);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Guide_sections_0_to_8_run_verbatim_from_an_empty_folder_bring_two_nations_to_an_indicator_received()
    {
        var guide = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "docs", "operator-guide.md"));
        var blocks = GuideBlocks.Extract(guide, lastSection: 8);
        Assert.True(blocks.Count >= 10, "expected the guide's sh blocks of sections 0-8, found " + blocks.Count);
        var alertAddress = Regex.Match(string.Join('\n', blocks.Select(b => b.Text)), "\"dest_ip\":\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(alertAddress);

        var ports = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve(2);
        var home = Path.Combine(_temp.Path, "federation");
        var script = GuideBlocks.ToScript(blocks, TestData.RepositoryRoot, home, ports[0], ports[1], alertAddress);
        File.WriteAllText(Path.Combine(_temp.Path, "guide.sh"), script);
        var projectFolders = new[] { "Gateway", "Agent" }.Select(p => Path.Combine(TestData.RepositoryRoot, "src", p)).ToArray();
        var before = projectFolders.Select(Entries).ToArray();

        var (exitCode, stdout, stderr) = await RunBashAsync(Path.Combine(_temp.Path, "guide.sh"), _temp.Path);

        var logs = string.Join(Environment.NewLine, Directory.GetFiles(home.Length > 0 && Directory.Exists(home) ? home : _temp.Path, "terminal-*.log")
            .Select(f => $"--- {Path.GetFileName(f)}{Environment.NewLine}{File.ReadAllText(f)}"));
        Assert.True(exitCode == 0, $"the guide's commands failed (exit {exitCode}){Environment.NewLine}{stderr}{Environment.NewLine}{stdout}{Environment.NewLine}{logs}");

        // Section 8's export: Finland holds Estonia's sighting, with Estonia as origin.
        var exported = stdout.Split('\n').Where(l => l.StartsWith("{\"id\":", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l)).ToList();
        try
        {
            var indicator = Assert.Single(exported, d => d.RootElement.TryGetProperty("value", out var v) && v.GetString() == alertAddress).RootElement;
            Assert.Equal("ipv4", indicator.GetProperty("type").GetString());
            Assert.Equal("ee.cybercoop", indicator.GetProperty("origin_domain").GetString());
            Assert.Equal("AMBER", indicator.GetProperty("tlp").GetString());
        }
        finally
        {
            exported.ForEach(d => d.Dispose());
        }

        // Every relative path landed in the caller's folder, none in the projects' folders (dotnet run's Web SDK default).
        Assert.True(File.Exists(Path.Combine(home, "ee", "ca", "root.crt")));
        Assert.True(File.Exists(Path.Combine(home, "fi", "node", "gateway.db")));
        Assert.True(File.Exists(Path.Combine(home, "ee", "agents", "grid-sensor", "agent-state.json")));
        Assert.Equal(before, projectFolders.Select(Entries).ToArray());
    }

    [Fact]
    public void Guide_blocks_are_extracted_with_the_substitution_rules_and_nothing_else()
    {
        const string Markdown = """
            ## 0. Prerequisites
            ```sh
            export CC=~/cybercoop
            mkdir ~/federation && cd ~/federation
            ```
            ## 5. Start
            ```sh
            gateway serve --config ee/node/gateway.json     # terminal 1 (Estonia)
            gateway peers add --address https://127.0.0.1:7401 --other 127.0.0.1:7402
            ```
            <!-- guide test: skip (needs a third nation) -->
            ```sh
            gateway origins add --domain lv.cybercoop
            ```
            ```json
            { "not": "run" }
            ```
            ## 8. See
            ```sh
            gateway indicators export --config fi/node/gateway.json --format jsonl
            ```
            ## 9. Later
            ```sh
            gateway policy test
            ```
            """;

        var blocks = GuideBlocks.Extract(Markdown, lastSection: 8);
        var script = GuideBlocks.ToScript(blocks, "/repo", "/tmp/home", 5001, 5002, "198.51.100.23");

        Assert.Equal(3, blocks.Count);
        Assert.Contains("export CC='/repo'\n", script, StringComparison.Ordinal);
        Assert.Contains("mkdir '/tmp/home' && cd '/tmp/home'\n", script, StringComparison.Ordinal);
        Assert.Contains("background 1 'listening on' 'gateway serve --config ee/node/gateway.json'", script, StringComparison.Ordinal);
        Assert.Contains("--address https://127.0.0.1:5001 --other 127.0.0.1:5002\n", script, StringComparison.Ordinal);
        Assert.DoesNotContain("origins add", script, StringComparison.Ordinal);
        Assert.DoesNotContain("policy test", script, StringComparison.Ordinal);
        Assert.DoesNotContain("\"not\"", script, StringComparison.Ordinal);
        Assert.Contains("until_output_holds '198.51.100.23' 'gateway indicators export --config fi/node/gateway.json --format jsonl", script, StringComparison.Ordinal);
    }

    private static string[] Entries(string folder) =>
        Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).Order(StringComparer.Ordinal).ToArray()!;

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunBashAsync(string script, string workingDirectory)
    {
        var info = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(s_sessionTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>The <c>sh</c> blocks of the operator guide and the bash session that runs them (see <see cref="OperatorGuideTests"/>).</summary>
internal static partial class GuideBlocks
{
    public const string SkipMarker = "<!-- guide test: skip";

    /// <summary>Every <c>```sh</c> block of sections 0 to <paramref name="lastSection"/>, in order, except skipped ones.</summary>
    public static List<GuideBlock> Extract(string markdown, int lastSection)
    {
        var blocks = new List<GuideBlock>();
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var section = -1;
        for (var i = 0; i < lines.Length; i++)
        {
            var heading = SectionHeading().Match(lines[i]);
            if (heading.Success)
            {
                section = int.Parse(heading.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                continue;
            }

            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var language = lines[i][3..].Trim();
            var start = i + 1;
            var end = start;
            while (end < lines.Length && !lines[end].StartsWith("```", StringComparison.Ordinal))
            {
                end++;
            }

            var skipped = i > 0 && lines[i - 1].StartsWith(SkipMarker, StringComparison.Ordinal);
            if (language == "sh" && section >= 0 && section <= lastSection && !skipped)
            {
                blocks.Add(new GuideBlock(section, string.Join('\n', lines[start..end])));
            }

            i = end;
        }

        return blocks;
    }

    /// <summary>The bash session: a small harness, then the blocks with the substitutions applied.</summary>
    public static string ToScript(IReadOnlyList<GuideBlock> blocks, string repository, string home, int eePort, int fiPort, string awaitedValue)
    {
        var script = new StringBuilder("""
            set -euo pipefail
            set -m   # each background command in its own process group, so that stopping it stops its dotnet children
            started=()
            stop_started() { for pid in "${started[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done; wait || true; }
            trap stop_started EXIT
            # background N READY COMMAND: the reader's terminal N; go on once its output holds READY (or anything).
            background() {
              local log="$PWD/terminal-$1.log" ready=$2 command=$3 tries
              ( eval "$command" ) > "$log" 2>&1 &
              started+=($!)
              for ((tries = 0; tries < 2400; tries++)); do
                if [[ -n $ready ]] && grep -q -- "$ready" "$log"; then return 0; fi
                if [[ -z $ready && -s $log ]]; then return 0; fi
                if ! kill -0 "$!" 2>/dev/null; then echo "terminal $1 ended: $command" >&2; cat "$log" >&2; return 1; fi
                sleep 0.25
              done
              echo "terminal $1 never became ready: $command" >&2; cat "$log" >&2; return 1
            }
            # until_output_holds VALUE COMMAND: run COMMAND again until its output holds VALUE (at most 3 minutes).
            until_output_holds() {
              local tries
              for ((tries = 0; tries < 720; tries++)); do
                if (eval "$2") 2>/dev/null | grep -qF -- "$1"; then return 0; fi
                sleep 0.25
              done
              echo "never printed $1: $2" >&2; return 1
            }
            set -x

            """.ReplaceLineEndings("\n"));
        for (var b = 0; b < blocks.Count; b++)
        {
            var text = blocks[b].Text
                .Replace("~/cybercoop", Quote(repository), StringComparison.Ordinal)
                .Replace("~/federation", Quote(home), StringComparison.Ordinal)
                .Replace(":7401", ":" + eePort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace(":7402", ":" + fiPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            if (b == blocks.Count - 1)
            {
                script.Append("until_output_holds ").Append(Quote(awaitedValue)).Append(' ').Append(Quote(text)).Append('\n');
            }

            foreach (var line in text.Split('\n'))
            {
                var terminal = TerminalComment().Match(line);
                if (terminal.Success)
                {
                    var command = terminal.Groups["command"].Value.TrimEnd();
                    var ready = command.Contains(" serve ", StringComparison.Ordinal) ? "listening on" : "";
                    script.Append("background ").Append(terminal.Groups["n"].Value).Append(' ').Append(Quote(ready)).Append(' ').Append(Quote(command)).Append('\n');
                }
                else
                {
                    script.Append(line).Append('\n');
                }
            }
        }

        return script.ToString();
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"^## (\d+)\. ")]
    private static partial Regex SectionHeading();

    [GeneratedRegex(@"^(?<command>[^#]*\S)\s+# terminal (?<n>\d+)\b")]
    private static partial Regex TerminalComment();
}

/// <summary>One <c>```sh</c> block of the guide and the section it is in.</summary>
internal sealed record GuideBlock(int Section, string Text);
