using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Decides whether a database file may be used, before and right after SQLite opens it, so a damaged file is refused
/// with one clear message (<see cref="DamagedDatabaseException"/>) instead of failing later inside a request.
/// </summary>
/// <remarks>
/// <para>The rule for "never present an empty node where a database was":</para>
/// <list type="number">
/// <item>A database is only ever created whole: built under a temporary name, its schema committed, then renamed into
/// place (<see cref="SqliteDatabase"/>). So a file at <c>node.storage</c> that is empty (0 bytes), does not start with
/// the SQLite header, is shorter than its header says, or holds no CyberCoop schema (schema version 0) was never a
/// working database: it is refused, never initialised.</item>
/// <item>Next to every database the node keeps a history marker, <c>&lt;storage&gt;.history</c>, written when the database
/// is created (and on the first open of an older database that has none). A missing database is created fresh only when
/// neither the marker nor a leftover <c>&lt;storage&gt;-wal</c> file exists; otherwise the node has history that is gone,
/// and it refuses to start. Deleting the marker as well is the operator's explicit way to start the node over.</item>
/// <item>Every open runs <c>PRAGMA quick_check</c> (about 1 s at 1,000,000 indicators on 2 cores, see
/// docs/operator-guide.md); <c>audit verify</c> and <c>backup</c> run the full <c>PRAGMA integrity_check</c>, which also
/// compares every index with its table (about 9 s at 1,000,000).</item>
/// </list>
/// </remarks>
internal static class DatabaseCheck
{
    /// <summary>The first 16 bytes of every SQLite 3 database file.</summary>
    private static ReadOnlySpan<byte> Header => "SQLite format 3\0"u8;

    private const int SqliteCorrupt = 11;
    private const int SqliteFull = 13;
    private const int SqliteNotADatabase = 26;

    /// <summary>Suffix of the history marker kept beside the database.</summary>
    public const string HistorySuffix = ".history";

    /// <summary>Path of the history marker of <paramref name="databasePath"/>.</summary>
    public static string HistoryPath(string databasePath) => databasePath + HistorySuffix;

    /// <summary>
    /// Checks an existing file before SQLite opens it: not empty, the SQLite header, a page size SQLite can have, and
    /// at least as long as its header says (when the header's size field is valid).
    /// </summary>
    public static void CheckFile(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = file.Length;
        if (length == 0)
        {
            throw new DamagedDatabaseException(path, "the file is empty (0 bytes); a CyberCoop database is never empty, so it was truncated or replaced");
        }

        Span<byte> header = stackalloc byte[100];
        var read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < header.Length || !header[..16].SequenceEqual(Header))
        {
            throw new DamagedDatabaseException(path, "the file does not start with the SQLite header; it was truncated or overwritten");
        }

        // Page size: big-endian at offset 16; the value 1 means 65536.
        int pageSize = BinaryPrimitives.ReadUInt16BigEndian(header[16..]);
        pageSize = pageSize == 1 ? 65536 : pageSize;
        if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
        {
            throw new DamagedDatabaseException(path, "the SQLite header is overwritten (invalid page size)");
        }

        // The size in pages (offset 28) is valid when the version-valid-for number (92) equals the change counter (24).
        var pages = BinaryPrimitives.ReadUInt32BigEndian(header[28..]);
        var valid = BinaryPrimitives.ReadUInt32BigEndian(header[92..]) == BinaryPrimitives.ReadUInt32BigEndian(header[24..]);
        if (length % pageSize != 0 || (valid && pages > 0 && length < (long)pages * pageSize))
        {
            var expected = valid ? (long)pages * pageSize : length - (length % pageSize) + pageSize;
            throw new DamagedDatabaseException(
                path,
                string.Create(CultureInfo.InvariantCulture, $"the file is truncated ({length} bytes, its header says at least {expected})"));
        }
    }

    /// <summary>
    /// Runs <c>PRAGMA quick_check</c> (or with <paramref name="full"/> the full <c>PRAGMA integrity_check</c>) on an
    /// open connection and refuses a database that fails it, naming SQLite's first finding and how many there are.
    /// </summary>
    public static void CheckIntegrity(SqliteConnection connection, string path, bool full)
    {
        var findings = new List<string>();
        try
        {
            using var command = connection.CreateCommand();
            // At most 100 findings: enough to tell "one page" from "everywhere" without reading all of a wrecked file.
            command.CommandText = full ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)";
            command.CommandTimeout = 0;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                // One row per finding, or (depending on the SQLite build) one row holding them line by line.
                findings.AddRange(reader.GetString(0).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
        }
        catch (SqliteException ex) when (IsDamage(ex))
        {
            throw Damaged(path, ex);
        }

        if (findings is ["ok"])
        {
            return;
        }

        var first = findings.Count > 0 ? findings[0] : "no result";
        var more = findings.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $" (and {findings.Count - 1}{(findings.Count >= 100 ? " or more" : string.Empty)} more findings)") : string.Empty;
        throw new DamagedDatabaseException(path, $"SQLite's {(full ? "integrity_check" : "quick_check")} failed: {first}{more}");
    }

    /// <summary>
    /// Refuses a file without our schema (schema version 0): databases are created whole, schema included, so such a file
    /// was replaced or never finished. Returns the schema version.
    /// </summary>
    public static long RequireSchema(SqliteConnection connection, string path)
    {
        var version = SchemaMigrations.ReadVersion(connection);
        if (version == 0)
        {
            throw new DamagedDatabaseException(path, "the file holds no CyberCoop schema (schema version 0); it was replaced or never finished");
        }

        return version;
    }

    /// <summary>
    /// Refuses to create a database where one existed: the history marker or a leftover WAL file says this node has
    /// run before.
    /// </summary>
    public static void ThrowIfHistoryWithoutDatabase(string path)
    {
        var marker = HistoryPath(path);
        if (File.Exists(marker))
        {
            throw new DamagedDatabaseException(
                path,
                $"the file is missing, but this node has run before ('{marker}' records its database); it will not start as a new empty node. " +
                "To start it over with no history instead, delete that marker file too");
        }

        if (File.Exists(path + "-wal"))
        {
            throw new DamagedDatabaseException(path, $"the file is missing, but its write-ahead log '{path}-wal' is still there");
        }
    }

    /// <summary>Writes the history marker when it is missing (after a successful open or creation).</summary>
    public static void EnsureHistoryMarker(string path)
    {
        var marker = HistoryPath(path);
        if (File.Exists(marker))
        {
            return;
        }

        var text = $"""
            CyberCoop: a database exists at '{path}'.
            If that database goes missing, the gateway refuses to start as a new, empty node: restore it from a backup
            (docs/operator-guide.md, 'Backup and restore'). Delete this file only to start the node over with no history.

            """;
        var temporary = marker + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, marker, overwrite: true);
    }

    /// <summary>
    /// Checks the database of a node that is not running, without changing anything (a read-only connection): the
    /// file checks, the history rule and <c>PRAGMA quick_check</c>. Returns the diagnosis, or null when the database is
    /// usable (or simply absent on a node that never ran).
    /// </summary>
    public static DamagedDatabaseException? Diagnose(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                ThrowIfHistoryWithoutDatabase(path);
                return null;
            }

            CheckFile(path);
            var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
            using var connection = new SqliteConnection(cs);
            try
            {
                connection.Open();
                CheckIntegrity(connection, path, full: false);
                RequireSchema(connection, path);
            }
            catch (SqliteException ex) when (IsDamage(ex))
            {
                throw Damaged(path, ex);
            }

            return null;
        }
        catch (DamagedDatabaseException ex)
        {
            return ex;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SqliteException)
        {
            // Not readable by this user, or locked: no diagnosis to add.
            return null;
        }
    }

    /// <summary>
    /// Whether SQLite could not write because the database reached its size limit (max_page_count) or the disk is full
    /// (SQLITE_FULL): nothing of that transaction was stored.
    /// </summary>
    public static bool IsFull(SqliteException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return (ex.SqliteErrorCode & 0xff) == SqliteFull;
    }

    /// <summary>True when SQLite says the file is corrupt or not a database.</summary>
    public static bool IsDamage(SqliteException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return (ex.SqliteErrorCode & 0xff) is SqliteCorrupt or SqliteNotADatabase;
    }

    /// <summary>The exception for a damage SQLite reported.</summary>
    public static DamagedDatabaseException Damaged(string path, SqliteException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return new DamagedDatabaseException(path, "SQLite reports: " + ex.Message.Replace("SQLite Error ", "error ", StringComparison.Ordinal).TrimEnd('.'), ex);
    }
}
