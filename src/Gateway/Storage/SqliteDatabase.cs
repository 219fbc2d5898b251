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
/// <para>
/// Checkpoints run off the writer's path (<see cref="StoreOptions.CheckpointPages"/>): SQLite's auto-checkpoint is off
/// on the writer connection; once the writer has appended that many WAL pages, a PASSIVE checkpoint on a connection of
/// its own copies them into the database file while the writer goes on committing; before its next group the writer
/// copies the few frames committed meanwhile (a PASSIVE checkpoint on its own connection, where no other writer can
/// be in the way), so the WAL restarts from its beginning at the next write. Close ends with a TRUNCATE checkpoint.
/// </para>
/// </remarks>
internal sealed class SqliteDatabase : IStoreDatabase
{
    /// <summary>Most writes committed in one transaction (bounds the time the first of them waits for its commit).</summary>
    internal const int MaxGroup = 64;

    private readonly string _readConnectionString;
    private readonly SqliteConnection _writer;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writerLoop;
    private readonly SqliteConnection _checkpointer;
    private readonly int _checkpointPages;
    private Task? _backgroundCheckpoint;
    private long _walPagesSinceCheckpoint;
    private int _disposed;
    private long _groupsCommitted;
    private long _writesCommitted;
    private long _commitTicks;
    private long _walPagesWritten;
    private long _checkpointsCompleted;
    private long _checkpointFailures;

    private SqliteDatabase(string path, SqliteConnection writer, SqliteConnection checkpointer, string readConnectionString, int checkpointPages)
    {
        Path = path;
        _writer = writer;
        _checkpointer = checkpointer;
        _readConnectionString = readConnectionString;
        _checkpointPages = checkpointPages;
        // After a crash the WAL still holds frames (recovered on open): count them towards the first checkpoint round
        // (an over-estimate when the file also holds stale frames past a restart; that only brings the round forward).
        var wal = new FileInfo(path + "-wal");
        _walPagesSinceCheckpoint = wal.Exists ? wal.Length / (4096 + 24) : 0;
        _writerLoop = Task.Run(WriteLoopAsync);
    }

    public string Path { get; }

    /// <inheritdoc/>
    public StoreDialect Dialect => StoreDialect.Sqlite;

    System.Data.Common.DbConnection IStoreDatabase.OpenReader() => OpenReader();

    /// <summary>Transactions committed by the writer (each holds one or more writes).</summary>
    public long GroupsCommitted => Interlocked.Read(ref _groupsCommitted);

    /// <summary>Writes committed (for the ratio writes per transaction).</summary>
    public long WritesCommitted => Interlocked.Read(ref _writesCommitted);

    /// <summary>Time the writer spent running and committing groups (excludes waiting for writes).</summary>
    public TimeSpan CommitTime => TimeSpan.FromSeconds(Interlocked.Read(ref _commitTicks) / (double)System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Pages the writer has appended to the WAL (each one page plus a 24-byte frame header).</summary>
    public long WalPagesWritten => Interlocked.Read(ref _walPagesWritten);

    /// <summary>Background checkpoints completed (each followed by the writer's catch-up of the frames committed meanwhile).</summary>
    public long CheckpointsCompleted => Interlocked.Read(ref _checkpointsCompleted);

    /// <summary>True while a background checkpoint runs.</summary>
    public bool CheckpointRunning => Volatile.Read(ref _backgroundCheckpoint) is { IsCompleted: false };

    /// <summary>Background checkpoints that failed (the next round retries; the writer's own catch-up surfaces a lasting error).</summary>
    public long CheckpointFailures => Interlocked.Read(ref _checkpointFailures);

    /// <summary>
    /// Queues <paramref name="work"/> to run on the writer connection inside a write transaction (possibly shared with
    /// other writes, each in its own savepoint). The task completes after that transaction committed, with the work's
    /// result; faulted with the work's exception (its changes rolled back) or the commit's; cancelled only when
    /// <paramref name="ct"/> fired before the writer started the work (then nothing of it was written).
    /// </summary>
    public Task<T> WriteAsync<T>(Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, T> work, CancellationToken ct)
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
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                CatchUpCheckpoint();
                CommitGroup(group);
                group.Clear();
                CountWalPages();
                Interlocked.Add(ref _commitTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
            }
        }
    }

    /// <summary>Adds the WAL pages of the last commit to the counters; starts a background checkpoint when due.</summary>
    private void CountWalPages()
    {
        // SQLITE_DBSTATUS_CACHE_WRITE counts the pages this connection's pager wrote, i.e. the WAL frames of its commits
        // (checkpoints write through the WAL module and are not counted); reset on read.
        SQLitePCL.raw.sqlite3_db_status(_writer.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_WRITE, out var pages, out _, 1);
        Interlocked.Add(ref _walPagesWritten, pages);
        _walPagesSinceCheckpoint += pages;
        if (_backgroundCheckpoint is null && _walPagesSinceCheckpoint >= _checkpointPages)
        {
            _walPagesSinceCheckpoint = 0;
            _backgroundCheckpoint = Task.Run(BackgroundCheckpoint);
        }
    }

    /// <summary>
    /// PASSIVE checkpoint on the checkpointer's own connection: copies every frame committed so far into the database
    /// file and fsyncs it, without taking the write lock, so the writer keeps committing meanwhile.
    /// </summary>
    private void BackgroundCheckpoint()
    {
        try
        {
            Execute(_checkpointer, "PRAGMA wal_checkpoint(PASSIVE);");
            Interlocked.Increment(ref _checkpointsCompleted);
        }
        catch (SqliteException)
        {
            Interlocked.Increment(ref _checkpointFailures);
        }
    }

    /// <summary>
    /// After a background checkpoint, on the writer: copies the frames committed while it ran (PASSIVE on the writer
    /// connection; no other writer exists, so nothing waits), so the WAL is fully checkpointed and the next write
    /// transaction restarts it from its beginning instead of growing it.
    /// </summary>
    private void CatchUpCheckpoint()
    {
        if (_backgroundCheckpoint is not { IsCompleted: true })
        {
            return;
        }

        _backgroundCheckpoint = null;
        try
        {
            Execute(_writer, "PRAGMA wal_checkpoint(PASSIVE);");
        }
        catch (SqliteException)
        {
            // The WAL keeps its frames and grows until the next round succeeds; the commits themselves are unaffected.
            Interlocked.Increment(ref _checkpointFailures);
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
            PendingWrite.Complete(group, failed, ex);
            return;
        }

        Interlocked.Increment(ref _groupsCommitted);
        Interlocked.Add(ref _writesCommitted, group.Count);
        PendingWrite.Complete(group, failed, error: null);
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

        // A damaged, emptied or vanished database is refused here with one clear message (see DatabaseCheck), never
        // initialised as a new node and never served from.
        if (File.Exists(fullPath))
        {
            DatabaseCheck.CheckFile(fullPath);
        }
        else
        {
            DatabaseCheck.ThrowIfHistoryWithoutDatabase(fullPath);
            CreateWhole(fullPath);
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

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.CheckpointPages);
        var synchronous = options.DurableAgainstPowerLoss ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;";
        var writer = new SqliteConnection(writerCs);
        var checkpointer = new SqliteConnection(writerCs);
        try
        {
            writer.Open();
            // Before anything writes to it: a damaged file, or one without our schema (databases are created whole, see
            // CreateWhole), is refused untouched.
            DatabaseCheck.CheckIntegrity(writer, fullPath, full: false);
            DatabaseCheck.RequireSchema(writer, fullPath);
            Execute(writer, "PRAGMA journal_mode = WAL;");
            Execute(writer, synchronous);
            Execute(writer, $"PRAGMA cache_size = -{options.CacheSizeKiB}; PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 10000;");
            if (options.MaxDatabaseBytes is { } maxBytes)
            {
                // Never below the pages in use (SQLite would keep the larger value anyway); writes beyond it fail with SQLITE_FULL.
                using var pageSize = writer.CreateCommand();
                pageSize.CommandText = "PRAGMA page_size;";
                var pages = Math.Max(1, maxBytes / (long)pageSize.ExecuteScalar()!);
                Execute(writer, $"PRAGMA max_page_count = {pages};");
            }

            // Checkpoints are the database's job (see the class remarks), not SQLite's auto-checkpoint on commit. After
            // the WAL restarts, a file grown past twice the checkpoint size is truncated back to it.
            Execute(writer, "PRAGMA wal_autocheckpoint = 0;");
            Execute(writer, $"PRAGMA journal_size_limit = {2L * options.CheckpointPages * 4096};");
            var versionBefore = SchemaMigrations.ReadVersion(writer);

            SchemaMigrations.Migrate(writer);
            if (versionBefore != SchemaMigrations.ReadVersion(writer) && versionBefore > 0)
            {
                // A migration that rebuilt a table put all of it into the WAL: into the database file with it now, before
                // the first checkpoint round would come due.
                Execute(writer, "PRAGMA wal_checkpoint(TRUNCATE);");
            }

            checkpointer.Open();
            Execute(checkpointer, synchronous);
            Execute(checkpointer, "PRAGMA wal_autocheckpoint = 0; PRAGMA busy_timeout = 10000;");
        }
        catch (SqliteException ex) when (DatabaseCheck.IsDamage(ex))
        {
            checkpointer.Dispose();
            writer.Dispose();
            SqliteConnection.ClearPool(writer);
            throw DatabaseCheck.Damaged(fullPath, ex);
        }
        catch
        {
            checkpointer.Dispose();
            writer.Dispose();
            SqliteConnection.ClearPool(writer);
            throw;
        }

        DatabaseCheck.EnsureHistoryMarker(fullPath);
        return new SqliteDatabase(fullPath, writer, checkpointer, readerCs, options.CheckpointPages);
    }

    /// <summary>
    /// Creates a new database whole: the file is built under a temporary name (<c>.new-&lt;pid&gt;</c>, owner-only), its schema committed, and
    /// only then renamed to <paramref name="fullPath"/>. A crash midway leaves the temporary file (rebuilt on the next
    /// start), never an empty or half-made file at the database's own path.
    /// </summary>
    private static void CreateWhole(string fullPath)
    {
        // Per process: two processes opening a database that does not exist yet never write the same file.
        var temporary = fullPath + ".new-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var leftover in new[] { temporary, temporary + "-wal", temporary + "-shm", temporary + "-journal" })
        {
            File.Delete(leftover);
        }

        if (!OperatingSystem.IsWindows())
        {
            // Owner-only before SQLite writes a byte; SQLite gives the -wal and -shm files the same mode.
            using var created = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }

        var cs = new SqliteConnectionStringBuilder { DataSource = temporary, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        using (var connection = new SqliteConnection(cs))
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
            SchemaMigrations.Migrate(connection);
            Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        }

        // Closing the last connection checkpointed and removed the WAL: the file alone holds the schema.
        using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Flush(flushToDisk: true);
        }

        try
        {
            File.Move(temporary, fullPath);
        }
        catch (IOException) when (File.Exists(fullPath))
        {
            // Another process created it meanwhile: use theirs.
            File.Delete(temporary);
        }

        File.Delete(temporary + "-wal");
        File.Delete(temporary + "-shm");
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
        if (_backgroundCheckpoint is { } background)
        {
            await background.ConfigureAwait(false);
        }

        _checkpointer.Dispose();
        Execute(_writer, "PRAGMA wal_checkpoint(TRUNCATE);");
        _writer.Dispose();
        using var probe = new SqliteConnection(_readConnectionString);
        SqliteConnection.ClearPool(probe);
    }
}
