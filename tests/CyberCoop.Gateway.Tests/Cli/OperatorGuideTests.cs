using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CyberCoop.Testing;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>
/// docs/operator-guide.md sections 0 to 13, run as printed: every <c>```sh</c> block of those sections is taken from
/// the markdown itself, in order, and run in one bash session (real <c>dotnet run</c>, real gateways and agent
/// processes, real files) starting in an empty folder: two nations until Finland holds the indicator Estonia's agent
/// saw, then policy test, certificate and key rotation, trust bundle re-signing and installing, root rotation, a
/// revocation, the audit commands, a backup and a restore of Estonia's node.
/// </summary>
/// <remarks>
/// The text is run unchanged except for these substitutions, which a test must make:
/// <list type="number">
/// <item><c>~/cybercoop</c> (where the reader cloned the repository) becomes this repository's path, and
/// <c>~/federation</c> a fresh temporary folder.</item>
/// <item>The ports <c>7401</c> and <c>7402</c> (the gateways) and <c>7480</c> (the console) become three free loopback
/// ports (tests run in parallel, and other checkouts may run this test on the same machine).</item>
/// <item>A command whose comment starts with <c># terminal N</c> is started in the background (the reader's other
/// terminal) with its output in <c>terminal-N.log</c>; the session goes on once it has printed
/// <c>listening on</c> (a gateway) or anything at all (other commands), as the reader waits for it, and every such
/// command is stopped (SIGTERM) when the session ends.</item>
/// <item>A block right after the line <c>&lt;!-- guide test: skip (reason) --&gt;</c> is not run.</item>
/// <item>A block right after the line <c>&lt;!-- guide test: stop terminal N --&gt;</c> is run once terminal N's command
/// is stopped (SIGTERM, as the reader's Ctrl-C), as the guide tells the reader to do first.</item>
/// <item>Lettered sections (13a, PostgreSQL) are not run: they need a PostgreSQL server.</item>
/// <item>The last block of section 8 is first repeated until its output holds the alert's address, for up to
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
    public async Task Guide_sections_0_to_13_run_verbatim_from_an_empty_folder_bring_two_nations_to_an_indicator_and_through_rotation_audit_backup_and_restore()
    {
        var guide = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "docs", "operator-guide.md"));
        var blocks = GuideBlocks.Extract(guide, lastSection: 13);
        Assert.True(blocks.Count(b => b.Section <= 8) >= 10, "expected the guide's sh blocks of sections 0-8, found " + blocks.Count(b => b.Section <= 8));
        Assert.Equal(Enumerable.Range(9, 5), blocks.Select(b => b.Section).Where(n => n >= 9).Distinct());
        var alertAddress = Regex.Match(string.Join('\n', blocks.Select(b => b.Text)), "\"dest_ip\":\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(alertAddress);

        var ports = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve(3);
        var home = Path.Combine(_temp.Path, "federation");
        var script = GuideBlocks.ToScript(blocks, TestData.RepositoryRoot, home, (ports[0], ports[1], ports[2]), alertAddress);
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

        // Sections 9-13: the rotations left their traces, the audit export and the backup were written, the damaged
        // database was moved aside and the restored node started again (its terminal waited for "listening on").
        Assert.True(File.Exists(Path.Combine(home, "ee", "node", "tallinn.key.bak")), "certs renew --new-key kept the old key");
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(home, "ee", "ca", "retired"), "root-*.crt"));
        Assert.NotEmpty(File.ReadAllLines(Path.Combine(home, "audit-2026-11.jsonl")));
        Assert.Contains("revoked serial 4AECA0CEBC98BA503ABF47C90EF7B3C0", stdout, StringComparison.Ordinal);
        Assert.Contains("audit log OK", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(home, "ee-backup.db")));
        Assert.True(File.Exists(Path.Combine(home, "ee", "node", "damaged", "gateway.db")));
        Assert.Contains("listening on", File.ReadAllText(Path.Combine(home, "ee", "node", "terminal-1.log")), StringComparison.Ordinal);
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
            curl -sk https://127.0.0.1:7480/
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
            ## 13. Restore
            <!-- guide test: stop terminal 1 -->
            ```sh
            gateway serve --config gateway.json     # terminal 1 (restored)
            ```
            ## 13a. PostgreSQL
            ```sh
            createdb cybercoop
            ```
            """;

        var blocks = GuideBlocks.Extract(Markdown, lastSection: 8);
        var script = GuideBlocks.ToScript(blocks, "/repo", "/tmp/home", (5001, 5002, 5080), "198.51.100.23");

        Assert.Equal(3, blocks.Count);
        var all = GuideBlocks.Extract(Markdown, lastSection: 13);
        Assert.Equal([0, 5, 8, 9, 13], all.Select(b => b.Section));
        var full = GuideBlocks.ToScript(all, "/repo", "/tmp/home", (5001, 5002, 5080), "198.51.100.23");
        Assert.Contains("stop_terminal 1\nbackground 1 'listening on' 'gateway serve --config gateway.json'", full, StringComparison.Ordinal);
        Assert.DoesNotContain("createdb", full, StringComparison.Ordinal);
        // The repeat-until rule stays on section 8's last block, not the session's last.
        Assert.Contains("until_output_holds '198.51.100.23' 'gateway indicators export", full, StringComparison.Ordinal);
        Assert.DoesNotContain("until_output_holds '198.51.100.23' 'gateway policy", full, StringComparison.Ordinal);
        Assert.Contains("export CC='/repo'\n", script, StringComparison.Ordinal);
        Assert.Contains("mkdir '/tmp/home' && cd '/tmp/home'\n", script, StringComparison.Ordinal);
        Assert.Contains("background 1 'listening on' 'gateway serve --config ee/node/gateway.json'", script, StringComparison.Ordinal);
        Assert.Contains("--address https://127.0.0.1:5001 --other 127.0.0.1:5002\ncurl -sk https://127.0.0.1:5080/\n", script, StringComparison.Ordinal);
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

    /// <summary>Before a block: stop the reader's terminal N first (<c>&lt;!-- guide test: stop terminal N --&gt;</c>).</summary>
    public const string StopMarker = "<!-- guide test: stop terminal ";

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
                // A lettered section (13a) is not run: it needs what a walkthrough on one machine does not have.
                section = heading.Groups[2].Length > 0 ? int.MaxValue
                    : int.Parse(heading.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
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
            var stop = i > 0 && lines[i - 1].StartsWith(StopMarker, StringComparison.Ordinal)
                ? int.Parse(lines[i - 1][StopMarker.Length..].TrimEnd('-', '>', ' '), System.Globalization.CultureInfo.InvariantCulture)
                : (int?)null;
            if (language == "sh" && section >= 0 && section <= lastSection && !skipped)
            {
                blocks.Add(new GuideBlock(section, string.Join('\n', lines[start..end]), stop));
            }

            i = end;
        }

        return blocks;
    }

    /// <summary>The bash session: a small harness, then the blocks with the substitutions applied.</summary>
    public static string ToScript(IReadOnlyList<GuideBlock> blocks, string repository, string home, (int Ee, int Fi, int Console) ports, string awaitedValue)
    {
        var script = new StringBuilder("""
            set -euo pipefail
            set -m   # each background command in its own process group, so that stopping it stops its dotnet children
            started=()
            declare -A terminal_pid=()
            stop_started() { for pid in "${started[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done; wait || true; }
            # stop_terminal N: the reader's Ctrl-C in terminal N; waits until its command has ended.
            stop_terminal() { local pid=${terminal_pid[$1]}; kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" || true; }
            trap stop_started EXIT
            # background N READY COMMAND: the reader's terminal N; go on once its output holds READY (or anything).
            background() {
              local log="$PWD/terminal-$1.log" ready=$2 command=$3 tries
              ( eval "$command" ) > "$log" 2>&1 &
              started+=($!)
              terminal_pid[$1]=$!
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
                .Replace(":7401", ":" + ports.Ee.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace(":7402", ":" + ports.Fi.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace(":7480", ":" + ports.Console.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            if (blocks[b].StopTerminal is { } stop)
            {
                script.Append("stop_terminal ").Append(stop.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
            }

            if (blocks[b].Section == 8 && (b == blocks.Count - 1 || blocks[b + 1].Section != 8))
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

    [GeneratedRegex(@"^## (\d+)([a-z]?)\. ")]
    private static partial Regex SectionHeading();

    [GeneratedRegex(@"^(?<command>[^#]*\S)\s+# terminal (?<n>\d+)\b")]
    private static partial Regex TerminalComment();
}

/// <summary>One <c>```sh</c> block of the guide, its section, and the terminal the reader stops before it, if any.</summary>
internal sealed record GuideBlock(int Section, string Text, int? StopTerminal = null);
