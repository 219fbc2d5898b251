using System.Diagnostics;
using System.Text;
using CyberCoop.Agent.Tests.Cli;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Tests.Delivery;

/// <summary>A real agent process whose stdout and stderr are captured while it runs.</summary>
internal sealed class AgentHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly Lock _gate = new();

    private AgentHost(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Everything the agent printed so far.</summary>
    public string Log
    {
        get
        {
            lock (_gate)
            {
                return _log.ToString();
            }
        }
    }

    public static AgentHost Start(string configPath) => new(Process.Start(AgentProcess.StartInfo("run", "--config", configPath))!);

    /// <summary>SIGKILL: no shutdown, no flush.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _log.AppendLine(line);
        }
    }
}

/// <summary>The gateway's operator command line run in-process, and a real gateway node on loopback.</summary>
internal static class GatewayCli
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args, new System.CommandLine.InvocationConfiguration { Output = output, Error = error }, timeout.Token);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs a command that must succeed; fails the test with its output otherwise.</summary>
    public static async Task<string> MustAsync(params string[] args)
    {
        var (exit, output, error) = await RunAsync(args);
        Assert.True(exit == 0, $"'{string.Join(' ', args)}' exited {exit}:\n{output}\n{error}");
        return output;
    }

    public static Task<GatewayNode> StartAsync(string configPath, CancellationToken ct) =>
        GatewayNode.StartAsync(configPath, new GatewayNodeOptions { ConfigureLogging = b => b.SetMinimumLevel(LogLevel.Error) }, ct);
}

/// <summary>Awaited conditions (never fixed sleeps).</summary>
internal static class Eventually
{
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, Func<string>? explain = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, explain);

    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? explain = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("condition not reached within " + timeout + (explain is null ? "" : ":\n" + explain()));
            }

            await Task.Delay(50);
        }
    }
}
