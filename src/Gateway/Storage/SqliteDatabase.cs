using Microsoft.Data.Sqlite;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The database file: one long-lived writer connection guarded by a semaphore (SQLite allows one writer; queuing
/// writers here instead of in SQLite's busy loop keeps commits in order and cheap), and pooled read-only
/// connections that run concurrently with the writer thanks to WAL.
/// </summary>
internal sealed class SqliteDatabase : IAsyncDisposable
{
    private readonly string _readConnectionString;
    private int _disposed;

    private SqliteDatabase(string path, SqliteConnection writer, string readConnectionString)
    {
        Path = path;
        Writer = writer;
        _readConnectionString = readConnectionString;
    }

    public string Path { get; }

    /// <summary>The only connection that writes. Use only while holding <see cref="WriteLock"/>.</summary>
    public SqliteConnection Writer { get; }

    public SemaphoreSlim WriteLock { get; } = new(1, 1);

    public static SqliteDatabase Open(string path, StoreOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        if (!File.Exists(fullPath) && !OperatingSystem.IsWindows())
        {
            // Create the file owner-only before SQLite does; SQLite gives the -wal and -shm files the same mode.
            using var created = new FileStream(fullPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }

        var writerCs = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
        }.ToString();
        var readerCs = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();

        var writer = new SqliteConnection(writerCs);
        try
        {
            writer.Open();
            Execute(writer, "PRAGMA journal_mode = WAL;");
            Execute(writer, options.DurableAgainstPowerLoss ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
            Execute(writer, $"PRAGMA cache_size = -{options.CacheSizeKiB}; PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 10000;");
            SchemaMigrations.Migrate(writer);
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        return new SqliteDatabase(fullPath, writer, readerCs);
    }

    /// <summary>Opens a pooled read connection (query_only, so a bug cannot write through it).</summary>
    public SqliteConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        Execute(connection, "PRAGMA query_only = 1;");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Wait for an in-flight commit to finish rather than closing under it.
        await WriteLock.WaitAsync().ConfigureAwait(false);
        try
        {
            Execute(Writer, "PRAGMA wal_checkpoint(TRUNCATE);");
            Writer.Dispose();
            using var probe = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(probe);
        }
        finally
        {
            WriteLock.Release();
            WriteLock.Dispose();
        }
    }
}
