using System.Diagnostics;

namespace CyberCoop.Agent.Tests.Cli;

/// <summary>Runs the real agent executable (CyberCoop.Agent.dll beside the tests) as a child process.</summary>
internal static class AgentProcess
{
    public static string AgentDll => Path.Combine(AppContext.BaseDirectory, "CyberCoop.Agent.dll");

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(AgentDll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args, CancellationToken cancellationToken) =>
        await RunAsync(args, standardInput: null, cancellationToken);

    /// <summary>Runs the agent with <paramref name="standardInput"/> written to its standard input (a pipe), then closed.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args, string? standardInput, CancellationToken cancellationToken)
    {
        var psi = StartInfo(args);
        psi.RedirectStandardInput = standardInput is not null;
        using var process = Process.Start(psi)!;
        if (standardInput is not null)
        {
            // Written while the agent reads (the pipe holds only 64 KiB), then closed: end of input.
            _ = Task.Run(async () =>
            {
                try
                {
                    await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // the agent exited before reading everything; its exit code and stderr say why
                }
            }, cancellationToken);
        }

        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
