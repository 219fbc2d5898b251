using System.Text.Json;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Tests.Cli;

namespace CyberCoop.Gateway.Tests.Demo;

/// <summary>
/// Runs <c>demo --no-live --json --keep</c> once, in-process through the real command line, and keeps
/// the federation's files so the tests can hold the summary against the nodes' own databases.
/// </summary>
public sealed class DemoRunFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();

    internal CliResult Result { get; private set; } = null!;

    internal DemoSummary Summary { get; private set; } = null!;

    internal string Directory => _directory.Path;

    public async ValueTask InitializeAsync()
    {
        Result = await CliRun.RunAsync("demo", "--no-live", "--json", "--keep", "--dir", _directory.Path, "--duration", "6");
        Summary = JsonSerializer.Deserialize(Result.Output, DemoJsonContext.Default.DemoSummary)
            ?? throw new InvalidOperationException("the demo printed no JSON summary: " + Result);
    }

    public ValueTask DisposeAsync()
    {
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}
