using System.Diagnostics;

namespace CyberCoop.Agent.Tests.Cli;

/// <summary>The real agent executable (CyberCoop.Agent.dll beside the tests) as a child process (see <see cref="ChildProcess"/>).</summary>
internal static class AgentProcess
{
    private const string Dll = "CyberCoop.Agent.dll";

    public static ProcessStartInfo StartInfo(params string[] args) => ChildProcess.StartInfo(Dll, args);

    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args, CancellationToken cancellationToken) =>
        ChildProcess.RunToExitAsync(Dll, args, standardInput: null, cancellationToken);

    /// <summary>Runs the agent with <paramref name="standardInput"/> written to its standard input (a pipe), then closed.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args, string? standardInput, CancellationToken cancellationToken) =>
        ChildProcess.RunToExitAsync(Dll, args, standardInput, cancellationToken);
}
