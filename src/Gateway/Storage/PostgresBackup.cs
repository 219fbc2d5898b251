using System.Diagnostics;
using Npgsql;

namespace CyberCoop.Gateway.Storage;

/// <summary>What a PostgreSQL backup wrote.</summary>
internal sealed record PostgresBackupSummary(string Path, long Bytes, int TableEntries, TimeSpan Elapsed);

/// <summary>
/// <c>backup</c> of a node whose store is in PostgreSQL: PostgreSQL's own <c>pg_dump</c> in its custom format (one
/// consistent snapshot, taken while the gateway processes keep writing), written to <c>&lt;out&gt;.partial</c>
/// (owner-only), read back with <c>pg_restore --list</c>, then renamed. The password travels in the child's environment
/// (PGPASSWORD), never on its command line. Restore with <c>pg_restore</c> (docs/operator-guide.md, "Backup and restore").
/// </summary>
internal static class PostgresBackup
{
    public static async Task<PostgresBackupSummary> WriteAsync(string connectionString, string target, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var pgDump = FindTool("pg_dump") ?? throw new InvalidOperationException(
            "pg_dump was not found (PATH, /usr/lib/postgresql/N/bin): install PostgreSQL's client programs (apt-get install postgresql-client), the same major version as the server or newer");
        var pgRestore = FindTool("pg_restore") ?? throw new InvalidOperationException("pg_restore was not found beside pg_dump");
        var partial = target + ".partial";
        if (!OperatingSystem.IsWindows())
        {
            await using (new FileStream(partial, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }).ConfigureAwait(false))
            {
            }
        }

        try
        {
            await RunAsync(pgDump, ["--format=custom", "--no-owner", "--file=" + partial], builder, ct).ConfigureAwait(false);
            var listing = await RunAsync(pgRestore, ["--list", partial], builder, ct).ConfigureAwait(false);
            var tables = listing.Split('\n').Count(line => line.Contains(" TABLE DATA ", StringComparison.Ordinal));
            File.Move(partial, target);
            return new PostgresBackupSummary(target, new FileInfo(target).Length, tables, Stopwatch.GetElapsedTime(started));
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>A PostgreSQL client program: on PATH, else the newest /usr/lib/postgresql/N/bin (Debian, Ubuntu).</summary>
    internal static string? FindTool(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, name)))
            {
                return Path.Combine(dir, name);
            }
        }

        const string Debian = "/usr/lib/postgresql";
        return Directory.Exists(Debian)
            ? Directory.GetDirectories(Debian)
                .Where(d => File.Exists(Path.Combine(d, "bin", name)))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin", name))
                .FirstOrDefault()
            : null;
    }

    private static async Task<string> RunAsync(string file, string[] args, NpgsqlConnectionStringBuilder builder, CancellationToken ct)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PGHOST"] = builder.Host;
        start.Environment["PGPORT"] = builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["PGDATABASE"] = builder.Database;
        if (builder.Username is { Length: > 0 } user)
        {
            start.Environment["PGUSER"] = user;
        }

        if (builder.Password is { Length: > 0 } password)
        {
            start.Environment["PGPASSWORD"] = password;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + file);
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} failed (exit {process.ExitCode}): {(await error.ConfigureAwait(false)).Trim()}");
        }

        return await output.ConfigureAwait(false);
    }
}
