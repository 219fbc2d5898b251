using Microsoft.Data.Sqlite;

namespace CyberCoop.Gateway.Storage;

/// <summary>What <see cref="DatabaseBackup.Write"/> produced.</summary>
internal sealed record BackupSummary
{
    public required string Path { get; init; }

    public required long Bytes { get; init; }

    public required long Indicators { get; init; }

    public required long AuditEntries { get; init; }

    public required long SchemaVersion { get; init; }

    public required TimeSpan Elapsed { get; init; }
}

/// <summary>
/// An online, consistent copy of the node's database through SQLite's backup API: the pages are copied inside one read
/// transaction on a connection of its own, so the copy is the database as of one commit even while the node keeps
/// writing (WAL: the reader does not block the writer, nor the writer the reader). The copy is written under a
/// temporary name, switched to a self-contained rollback-journal file, checked with the full integrity_check, fsynced,
/// and only then renamed to its final name, so a file at the target path is always a complete, verified backup.
/// </summary>
internal static class DatabaseBackup
{
    public static BackupSummary Write(string source, string target, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(target);
        ArgumentNullException.ThrowIfNull(time);
        var started = time.GetTimestamp();
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"no database at '{source}' (node.storage); has this node run yet?", source);
        }

        DatabaseCheck.CheckFile(source);
        var temporary = target + ".partial";
        File.Delete(temporary);
        CreateOwnerOnly(temporary);
        try
        {
            var sourceCs = new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
            var targetCs = new SqliteConnectionStringBuilder { DataSource = temporary, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString();
            long indicators, audit, version;
            using (var from = new SqliteConnection(sourceCs))
            using (var to = new SqliteConnection(targetCs))
            {
                try
                {
                    from.Open();
                    SqliteDatabase.Execute(from, "PRAGMA busy_timeout = 10000;");
                    to.Open();
                    from.BackupDatabase(to);
                }
                catch (SqliteException ex) when (DatabaseCheck.IsDamage(ex))
                {
                    throw DatabaseCheck.Damaged(source, ex);
                }

                // One self-contained file (no -wal beside it), then every page and index checked: a damaged source
                // yields a damaged copy, reported against the source.
                SqliteDatabase.Execute(to, "PRAGMA journal_mode = DELETE;");
                try
                {
                    DatabaseCheck.CheckIntegrity(to, temporary, full: true);
                }
                catch (DamagedDatabaseException ex)
                {
                    throw new DamagedDatabaseException(source, "its backup copy fails the integrity check: " + ex.Problem, ex);
                }

                version = DatabaseCheck.RequireSchema(to, source);

                indicators = Count(to, "SELECT count(*) FROM indicators");
                audit = Count(to, "SELECT count(*) FROM audit");
            }

            using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite))
            {
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, target);
            return new BackupSummary
            {
                Path = target,
                Bytes = new FileInfo(target).Length,
                Indicators = indicators,
                AuditEntries = audit,
                SchemaVersion = version,
                Elapsed = time.GetElapsedTime(started),
            };
        }
        finally
        {
            File.Delete(temporary);
            File.Delete(temporary + "-journal");
        }
    }

    private static void CreateOwnerOnly(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var created = new FileStream(path, options);
    }

    private static long Count(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
