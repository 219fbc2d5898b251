using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CyberCoop.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster of this machine's installation: initdb into a folder, pg_ctl on a free loopback port,
/// stopped and removed on dispose. As root the cluster belongs to the <c>postgres</c> user (initdb refuses root). The
/// tests use it with fsync off (they kill gateway processes, not the machine); the load tool with PostgreSQL's durable
/// defaults, and reads the server processes' CPU time and writes from /proc.
/// </summary>
internal sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string? _asUser;
    private int _stopped;

    private string _options = "";

    private PostgresCluster(string bin, string root, int port, string? asUser)
    {
        _bin = bin;
        Root = root;
        Port = port;
        _asUser = asUser;
    }

    /// <summary>The server's log file.</summary>
    public string LogFile => Path.Combine(Root, "log");

    /// <summary>The folder holding the data directory, the socket and the server log.</summary>
    public string Root { get; }

    /// <summary>The data directory.</summary>
    public string DataDirectory => Path.Combine(Root, "data");

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>A superuser connection string to the <c>postgres</c> database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=true";

    /// <summary>The PostgreSQL version of the installation (pg_ctl --version).</summary>
    public string Version { get; private set; } = "";

    /// <summary>
    /// Creates and starts a cluster in <paramref name="root"/> (created; must not hold one already). With
    /// <paramref name="durable"/> false, fsync is off. <paramref name="settings"/> are extra <c>-c name=value</c> server
    /// settings, <paramref name="initdbArgs"/> extra initdb arguments (e.g. <c>--waldir</c>, <c>--wal-segsize</c>).
    /// </summary>
    public static async Task<PostgresCluster> StartAsync(string root, bool durable, IEnumerable<string>? settings = null, IEnumerable<string>? initdbArgs = null)
    {
        var bin = FindBin() ?? throw new InvalidOperationException(
            "PostgreSQL is needed: install it (apt-get install postgresql) so initdb and pg_ctl are found on PATH or in /usr/lib/postgresql/N/bin");
        Directory.CreateDirectory(root);
        var asUser = Environment.UserName == "root" ? "postgres" : null;
        if (asUser is not null)
        {
            await RunAsync("chown", ["-R", asUser, root]).ConfigureAwait(false);
        }

        var cluster = new PostgresCluster(bin, root, FreePort(), asUser);
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", cluster.DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", .. initdbArgs ?? []], asUser).ConfigureAwait(false);
        var options = $"-p {cluster.Port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200";
        if (!durable)
        {
            options += " -c fsync=off";
        }

        foreach (var setting in settings ?? [])
        {
            options += " -c " + setting;
        }

        cluster._options = options;
        await cluster.StartServerAsync().ConfigureAwait(false);
        cluster.Version = (await RunAsync(Path.Combine(bin, "pg_ctl"), ["--version"]).ConfigureAwait(false)).Trim();
        return cluster;
    }

    /// <summary>Starts the server of this cluster again (after it stopped or was stopped), with the same settings; waits until it takes connections.</summary>
    public Task StartServerAsync() =>
        RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "120", "-o", _options, "start"], _asUser);

    /// <summary>Stops the server at once (pg_ctl immediate mode: as a crash, no shutdown checkpoint) and keeps the cluster for <see cref="StartServerAsync"/>.</summary>
    public Task StopServerAsync() =>
        RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], _asUser);

    /// <summary>Whether the server runs (pg_ctl status); false once it shut down, e.g. after a failed crash recovery.</summary>
    public async Task<bool> IsRunningAsync()
    {
        try
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "status"], _asUser).ConfigureAwait(false);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false; // pg_ctl status exits 3 when no server runs
        }
    }

    /// <summary>Process id of the postmaster (first line of postmaster.pid).</summary>
    public int PostmasterPid => int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First().Trim(), CultureInfo.InvariantCulture);

    /// <summary>
    /// CPU time and writes of the whole server so far: the postmaster with every child it reaped (cutime/cstime;
    /// Linux adds a reaped child's I/O counters to its parent's) plus its live children (backends, WAL writer,
    /// checkpointer, background writer, autovacuum). Zeros off Linux.
    /// </summary>
    public (TimeSpan Cpu, IoCounters Io) Usage()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (TimeSpan.Zero, default);
        }

        var postmaster = PostmasterPid;
        var cpu = TimeSpan.Zero;
        var io = default(IoCounters);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue; // exited meanwhile
            }

            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var parent = int.Parse(rest[1], CultureInfo.InvariantCulture);
            if (pid == postmaster)
            {
                cpu += ProcStat.CpuTime(stat) + ProcStat.ChildrenCpuTime(stat);
            }
            else if (parent == postmaster)
            {
                cpu += ProcStat.CpuTime(stat);
            }
            else
            {
                continue;
            }

            var counters = ProcStat.Io(name);
            io = new IoCounters(io.Written + counters.Written, io.ToStorage + counters.ToStorage);
        }

        return (cpu, io);
    }

    /// <summary>
    /// Statements the server executed so far (every round trip a client made: queries, BEGIN/COMMIT, savepoints), from
    /// pg_stat_statements; 0 when the cluster was not started with it in shared_preload_libraries.
    /// </summary>
    public long StatementCalls() => Query("SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements", r => r.GetInt64(0)).FirstOrDefault();

    /// <summary>The <paramref name="count"/> statements executed most often since the last reset, with their calls.</summary>
    public List<(long Calls, string Query)> TopStatements(int count) =>
        Query($"SELECT calls, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements ORDER BY calls DESC LIMIT {count}", r => (r.GetInt64(0), r.GetString(1)));

    /// <summary>Clears pg_stat_statements.</summary>
    public void ResetStatements() => Query("SELECT pg_stat_statements_reset()", _ => 0);

    private List<T> Query<T>(string sql, Func<Npgsql.NpgsqlDataReader, T> read)
    {
        var rows = new List<T>();
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
            connection.Open();
            using var command = new Npgsql.NpgsqlCommand(sql, connection);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add(read(reader));
            }
        }
        catch (Npgsql.PostgresException)
        {
            // pg_stat_statements not loaded: no figures.
        }

        return rows;
    }

    /// <summary>The folder of initdb and pg_ctl: on PATH, or the newest /usr/lib/postgresql/N/bin (Debian, Ubuntu).</summary>
    internal static string? FindBin()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        const string Debian = "/usr/lib/postgresql";
        return Directory.Exists(Debian)
            ? Directory.GetDirectories(Debian)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
    }

    /// <summary>Stops the server at once (immediate mode: a throwaway cluster) and removes its folder.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        try
        {
            RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], _asUser).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Not running (a test stopped it, or it shut down after a failed recovery).
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the folder is in the temp directory (a file system mounted inside it is removed by its owner).
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a program (as <paramref name="asUser"/> through runuser when given) to its exit; its standard output.</summary>
    internal static async Task<string> RunAsync(string file, string[] args, string? asUser = null)
    {
        var start = asUser is null ? new ProcessStartInfo(file) : new ProcessStartInfo("runuser");
        if (asUser is not null)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add(asUser);
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(file);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + file);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} failed ({process.ExitCode}): {await error.ConfigureAwait(false)} {await output.ConfigureAwait(false)}");
        }

        return await output.ConfigureAwait(false);
    }
}
