using System.CommandLine;
using CyberCoop.Gateway.Cli;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>The outcome of one in-process command line.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{Output}stderr:{Environment.NewLine}{Error}";
}

/// <summary>Runs the gateway's command line in-process, capturing stdout and stderr.</summary>
internal static class CliRun
{
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(GatewayCommandLine.Build(), args);

    public static async Task<CliResult> RunAsync(RootCommand root, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var exit = await CliInvocation.InvokeAsync(root, args, new InvocationConfiguration { Output = output, Error = error }, timeout.Token);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> fires, writing stdout to <paramref name="output"/> as it goes.</summary>
    public static async Task<int> RunUntilCancelledAsync(TextWriter output, TextWriter error, CancellationToken cancellationToken, params string[] args) =>
        await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args, new InvocationConfiguration { Output = output, Error = error }, cancellationToken);

    /// <summary>A root command holding only <paramref name="command"/> (for commands built with a test prompt).</summary>
    public static RootCommand Root(Command command)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(command);
        return root;
    }
}
