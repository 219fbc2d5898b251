using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace CyberCoop.Load;

/// <summary>
/// A .NET program of this build run as a child process (<c>dotnet &lt;dll&gt; args</c>): the real gateway
/// (<c>CyberCoop.Gateway.dll serve --config</c>) or the raw baseline sink. Keeps the tail of its output for failure
/// messages and reads its resident set size from /proc.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 40;
    private readonly Process _process;
    private readonly Queue<string> _tail = new();

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote.</summary>
    public string Tail
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    /// <summary>Starts <c>dotnet &lt;dll&gt; args</c> and waits until <paramref name="port"/> accepts TCP connections.</summary>
    public static async Task<ChildProcess> StartAsync(string name, string dll, IEnumerable<string> args, int port, TimeSpan timeout, CancellationToken ct)
    {
        var path = Path.Combine(AppContext.BaseDirectory, dll);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{dll} is not next to the load tool (build the solution first)", path);
        }

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(path);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        var child = new ChildProcess(process, name);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            ct.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with {process.ExitCode}:\n{child.Tail}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port, ct);
                return child;
            }
            catch (SocketException)
            {
                await Task.Delay(100, ct);
            }
        }

        await child.DisposeAsync();
        throw new TimeoutException($"{name} did not listen on {port} within {timeout}:\n{child.Tail}");
    }

    /// <summary>Current and peak resident set size in bytes (VmRSS, VmHWM of /proc/&lt;pid&gt;/status); zeros off Linux.</summary>
    public (long Rss, long Peak) Memory()
    {
        try
        {
            long rss = 0, peak = 0;
            foreach (var line in File.ReadLines($"/proc/{Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = KiB(line) * 1024;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = KiB(line) * 1024;
                }
            }

            return (rss, peak);
        }
        catch (IOException)
        {
            return (0, 0);
        }
        catch (UnauthorizedAccessException)
        {
            return (0, 0);
        }
    }

    /// <summary>CPU time (user + system) the process has used so far, from /proc/&lt;pid&gt;/stat; zero off Linux.</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            return ProcStat.CpuTime(File.ReadAllText($"/proc/{Id}/stat"));
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Bytes the process has written so far (/proc/&lt;pid&gt;/io); zeros off Linux.</summary>
    public IoCounters Io() => ProcStat.Io(Id.ToString(CultureInfo.InvariantCulture));

    private static long KiB(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 ? long.Parse(parts[1], CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>SIGTERM and wait (graceful: the gateway drains and checkpoints); SIGKILL after the timeout.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
