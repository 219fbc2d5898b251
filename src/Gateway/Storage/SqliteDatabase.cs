using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The database file: one long-lived writer connection owned by one writer loop, and pooled read-only connections that
/// run concurrently with the writer thanks to WAL.
/// </summary>
/// <remarks>
/// <para>
/// Group commit: every write is queued (<see cref="WriteAsync{T}"/>); the writer takes everything queued while its
/// previous transaction was committing and runs it in ONE transaction, each write inside its own savepoint, so one
/// fsync (synchronous=FULL) covers several agent batches, envelopes, outbox deletions and audit appends that arrived
/// together. A write that throws is rolled back to its savepoint and fails alone; the others commit. Every caller's
/// task completes only after the transaction holding its write committed, so acknowledging on completion stays safe.
/// </para>
/// <para>
/// SQLite allows one writer; queuing writes here instead of in SQLite's busy loop keeps commits in order and cheap.
/// </para>
/// </remarks>
internal sealed class SqliteDatabase : IAsyncDisposable
{
    /// <summary>Most writes committed in one transaction (bounds the time the first of them waits for its commit).</summary>
    internal const int MaxGroup = 64;

    private readonly string _readConnectionString;
    private readonly SqliteConnection _writer;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writerLoop;
    private int _disposed;
    private long _groupsCommitted;
    private long _writesCommitted;

    private SqliteDatabase(string path, SqliteConnection writer, string readConnectionString)
    {
        Path = path;
        _writer = writer;
        _readConnectionString = readConnectionString;
        _writerLoop = Task.Run(WriteLoopAsync);
    }

    public string Path { get; }

    /// <summary>Transactions committed by the writer (each holds one or more writes).</summary>
    public long GroupsCommitted => Interlocked.Read(ref _groupsCommitted);

    /// <summary>Writes committed (for the ratio writes per transaction).</summary>
    public long WritesCommitted => Interlocked.Read(ref _writesCommitted);

    /// <summary>
    /// Queues <paramref name="work"/> to run on the writer connection inside a write transaction (possibly shared with
    /// other writes, each in its own savepoint). The task completes after that transaction committed, with the work's
    /// result; faulted with the work's exception (its changes rolled back) or the commit's; cancelled only when
    /// <paramref name="ct"/> fired before the writer started the work (then nothing of it was written).
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(ct);
        }

        var write = new PendingWrite<T>(work, ct);
        if (!_writes.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(SqliteDatabase), "the database is closed");
        }

        return write.Task;
    }

    private async Task WriteLoopAsync()
    {
        var group = new List<PendingWrite>(MaxGroup);
        while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (group.Count < MaxGroup && _writes.Reader.TryRead(out var write))
            {
                if (write.TryStart())
                {
                    group.Add(write);
                }
            }

            if (group.Count > 0)
            {
                CommitGroup(group);
                group.Clear();
            }
        }
    }

    private void CommitGroup(List<PendingWrite> group)
    {
        var failed = new bool[group.Count];
        try
        {
            using var transaction = _writer.BeginTransaction();
            if (group.Count == 1)
            {
                // Alone: a failure rolls the whole transaction back, no savepoint needed.
                group[0].Run(_writer, transaction);
            }
            else
            {
                for (var i = 0; i < group.Count; i++)
                {
                    transaction.Save("w");
                    try
                    {
                        group[i].Run(_writer, transaction);
                        transaction.Release("w");
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        transaction.Rollback("w");
                        transaction.Release("w");
                        failed[i] = true;
                        group[i].Fail(ex);
                    }
                }
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            for (var i = 0; i < group.Count; i++)
            {
                if (!failed[i])
                {
                    group[i].Fail(ex);
                }
            }

            return;
        }

        Interlocked.Increment(ref _groupsCommitted);
        Interlocked.Add(ref _writesCommitted, group.Count);
        for (var i = 0; i < group.Count; i++)
        {
            if (!failed[i])
            {
                group[i].Committed();
            }
        }
    }

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

        // Commit what is queued, then close: never under an in-flight commit.
        _writes.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        Execute(_writer, "PRAGMA wal_checkpoint(TRUNCATE);");
        _writer.Dispose();
        using var probe = new SqliteConnection(_readConnectionString);
        SqliteConnection.ClearPool(probe);
    }
}
