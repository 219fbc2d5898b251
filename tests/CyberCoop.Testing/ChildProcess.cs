using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace CyberCoop.Testing;

/// <summary>
/// A .NET program of this build run as a child process (<c>dotnet &lt;dll&gt; args</c>), so durability claims meet real
/// process death: the real gateway (<c>CyberCoop.Gateway.dll serve --config</c>), the agent, or the load tool's raw
/// baseline sink. Keeps its output for failure messages and reads its resident set size, CPU time and I/O from /proc.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 40;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The TCP port the process was waited for.</summary>
    public int Port { get; private init; }

    /// <summary>Everything the process wrote so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The last lines the process wrote (for failure messages).</summary>
    public string Tail => string.Join('\n', Output.TrimEnd().Split(Environment.NewLine).TakeLast(TailLines));

    /// <summary>
    /// Starts <c>dotnet &lt;dll&gt; args</c> (the dll beside the running assembly) and waits until <paramref name="port"/>
    /// accepts TCP connections. With <paramref name="openFileLimit"/> it runs under that RLIMIT_NOFILE (util-linux
    /// <c>prlimit</c>, which execs it, so <see cref="Id"/> is still the program's own process id); with
    /// <paramref name="cpus"/> (a CPU list such as <c>0</c> or <c>0-1</c>) it and every thread it starts are pinned to those
    /// CPUs (util-linux <c>taskset</c>, which also execs it). <paramref name="dll"/> may be an absolute path (a published
    /// build elsewhere, or its native executable for a Native AOT publish); a relative one is taken beside the running assembly.
    /// </summary>
    public static async Task<ChildProcess> StartAsync(string name, string dll, IEnumerable<string> args, int port, TimeSpan timeout,
        CancellationToken ct, int? openFileLimit = null, string? cpus = null)
    {
        var info = StartInfo(dll, args);
        if (openFileLimit is { } limit)
        {
            info.ArgumentList.Insert(0, info.FileName);
            info.ArgumentList.Insert(0, string.Create(CultureInfo.InvariantCulture, $"--nofile={limit}:{limit}"));
            info.FileName = "prlimit";
        }

        if (cpus is not null)
        {
            info.ArgumentList.Insert(0, info.FileName);
            info.ArgumentList.Insert(0, cpus);
            info.ArgumentList.Insert(0, "-c");
            info.FileName = "taskset";
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        var child = new ChildProcess(process, name) { Port = port };
        child.Capture();

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
                await Task.Delay(20, ct);
            }
        }

        await child.DisposeAsync();
        throw new TimeoutException($"{name} did not listen on {port} within {timeout}:\n{child.Tail}");
    }

    /// <summary>Starts <c>dotnet &lt;dll&gt; args</c> without waiting for anything (a program that listens on no port, e.g. the agent).</summary>
    public static ChildProcess Start(string name, string dll, IEnumerable<string> args)
    {
        var process = Process.Start(StartInfo(dll, args)) ?? throw new InvalidOperationException($"could not start {name}");
        var child = new ChildProcess(process, name);
        child.Capture();
        return child;
    }

    /// <summary>
    /// <c>dotnet &lt;dll&gt; args</c> for the dll beside the running assembly, output redirected. A path that does not end
    /// in <c>.dll</c> is a native executable (a Native AOT publish) and is run directly.
    /// </summary>
    public static ProcessStartInfo StartInfo(string dll, IEnumerable<string> args)
    {
        var path = Path.Combine(AppContext.BaseDirectory, dll);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{dll} is not beside {AppContext.BaseDirectory} (build the solution first)", path);
        }

        var native = !path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(native ? path : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!native)
        {
            info.ArgumentList.Add(path);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return info;
    }

    /// <summary>
    /// Runs <c>dotnet &lt;dll&gt; args</c> to its exit (at most 60 s) with <paramref name="standardInput"/>, when given,
    /// written to its standard input (a pipe) and then closed; returns its exit code and output.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(string dll, IEnumerable<string> args,
        string? standardInput, CancellationToken cancellationToken)
    {
        var info = StartInfo(dll, args);
        info.RedirectStandardInput = standardInput is not null;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {dll}");
        if (standardInput is not null)
        {
            // Written while the program reads (a pipe holds only 64 KiB), then closed: end of input.
            _ = Task.Run(async () =>
            {
                try
                {
                    await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // It exited before reading everything; its exit code and stderr say why.
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

    /// <summary>SIGKILL: the process dies at once, mid-whatever.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM (graceful shutdown); waits up to 30 s for the exit and returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", Id.ToString(CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
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

    private void Capture()
    {
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
