using System.Text.Json;

namespace CyberCoop.Agent.Tests.Cli;

public sealed class ParseCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Parse_prints_sightings_as_json_lines_and_a_summary_with_skipped_lines()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.json");
        File.WriteAllText(path,
            """{"timestamp":"2024-05-01T10:00:00+0000","event_type":"alert","src_ip":"10.0.0.5","dest_ip":"203.0.113.7","alert":{"signature_id":9,"signature":"ET TEST","category":"c","severity":1},"http":{"hostname":"bad.example"}}""" + "\n" +
            """{"event_type":"flow","src_ip":"10.0.0.5"}""" + "\n" +
            """{"event_type":"alert","src_ip":""" + "\n");

        var (exit, stdout, stderr) = await AgentProcess.RunAsync(["parse", path, "--format", "eve", "--home-net", "10.0.0.0/8"], Ct);

        Assert.Equal(0, exit);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal("ipv4", first.RootElement.GetProperty("type").GetString());
        Assert.Equal("203.0.113.7", first.RootElement.GetProperty("value").GetString());
        Assert.Equal(90, first.RootElement.GetProperty("confidence").GetInt32());
        Assert.Contains("3 lines, 2 sightings, 1 skipped", stderr, StringComparison.Ordinal);
        Assert.Contains($"{path}:3: invalid JSON (truncated or malformed)", stderr, StringComparison.Ordinal);
        Assert.Contains("event_type flow", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-")]
    [InlineData("/dev/stdin")]
    public async Task Parse_reads_a_pipe_on_standard_input_to_the_end(string file)
    {
        // More than one 64 KiB pipe buffer, so the agent has to read the pipe while it is being written.
        const int Alerts = 2_000;
        var input = new System.Text.StringBuilder();
        for (var i = 0; i < Alerts; i++)
        {
            input.Append("""{"timestamp":"2024-05-01T10:00:00+0000","event_type":"alert","src_ip":"10.0.0.5","dest_ip":"203.0.""")
                .Append(i / 250).Append('.').Append(i % 250)
                .Append("\",\"alert\":{\"signature_id\":9,\"signature\":\"ET TEST\",\"category\":\"c\",\"severity\":1}}").Append('\n');
        }

        input.Append("""{"event_type":"alert","src_ip":""");  // a malformed last line without a terminator

        var (exit, stdout, stderr) = await AgentProcess.RunAsync(["parse", file, "--format", "eve", "--home-net", "10.0.0.0/8"], input.ToString(), Ct);

        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Alerts, lines.Length);
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.Equal("203.0.7.249", last.RootElement.GetProperty("value").GetString());
        Assert.Contains($"{Alerts + 1} lines, {Alerts} sightings, 1 skipped", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parse_of_a_stix_bundle_on_standard_input_gives_what_the_file_gives()
    {
        var path = CyberCoop.Testing.TestData.Sample("stix/elevator-issue-271-dhs-report.json");

        var fromFile = await AgentProcess.RunAsync(["parse", path, "--format", "stix"], Ct);
        var fromPipe = await AgentProcess.RunAsync(["parse", "-", "--format", "stix"], File.ReadAllText(path), Ct);

        Assert.True(fromPipe.ExitCode == 0, fromPipe.Stderr);
        Assert.Equal(0, fromFile.ExitCode);
        Assert.NotEmpty(fromFile.Stdout);
        Assert.Equal(fromFile.Stdout, fromPipe.Stdout);
    }

    [Fact]
    public async Task Parse_with_an_unknown_format_fails_naming_the_option()
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.log");
        File.WriteAllText(path, "x\n");

        var (exit, stdout, stderr) = await AgentProcess.RunAsync(["parse", path, "--format", "snort"], Ct);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("--format: 'snort' must be one of", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run")] // --config is required
    [InlineData("parse", "x.log", "--format", "eve", "--no-such-option")]
    [InlineData("parse", "--format", "eve")] // the file argument is missing
    public async Task A_usage_error_found_by_the_parser_exits_2_with_its_message(params string[] args)
    {
        var (exit, stdout, stderr) = await AgentProcess.RunAsync(args, Ct);

        Assert.Equal(2, exit);
        Assert.NotEmpty(stderr);
        Assert.DoesNotContain("Unhandled", stderr, StringComparison.Ordinal);
        _ = stdout;
    }

    [Fact]
    public async Task Help_of_each_command_says_what_it_does_with_an_example()
    {
        foreach (var command in new[] { "parse", "run" })
        {
            var (exit, stdout, _) = await AgentProcess.RunAsync([command, "--help"], Ct);

            Assert.Equal(0, exit);
            Assert.Contains("Example", stdout, StringComparison.Ordinal);
            Assert.Contains("cybercoop-agent " + command, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Run_with_an_invalid_config_exits_with_every_error()
    {
        using var dir = new TempDirectory();
        var path = dir.File("agent.json");
        File.WriteAllText(path, """{ "name": "a", "trustDomain": "ee.cybercoop" }""");

        var (exit, _, stderr) = await AgentProcess.RunAsync(["run", "--config", path], Ct);

        Assert.Equal(2, exit);
        Assert.Contains("gateway: required", stderr, StringComparison.Ordinal);
        Assert.Contains("tls: required", stderr, StringComparison.Ordinal);
        Assert.Contains("sources: at least one source is required", stderr, StringComparison.Ordinal);
    }
}
