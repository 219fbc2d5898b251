using System.Data.Common;
using System.Threading.Channels;
using Npgsql;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The store in PostgreSQL: the same group commit as <see cref="SqliteDatabase"/> (one writer connection per process,
/// the writes queued together run in one transaction, each in its own savepoint, completed only after the commit), and
/// pooled read connections. Several gateway processes of one nation may use one database at once (active-active).
/// </summary>
/// <remarks>
/// <para>
/// Every write transaction first takes one transaction-scoped advisory lock (<see cref="WriteLock"/>), so writes of all
/// processes are serialised as SQLite serialises them within one: the read-merge-write of an indicator, the change
/// feed's next number, the exactly-once checks (agent batch ids, envelope ids, bundle keys, withdrawals) and the audit
/// hash chain's head all see every commit before them, and the audit log stays one chain. Reads do not take the lock.
/// </para>
/// <para>
/// The outbox is shared: a process claims the envelopes it sends (<see cref="GatewayStore.ReadOutboxAsync"/>: an UPDATE
/// of rows chosen with <c>FOR UPDATE SKIP LOCKED</c>) with a lease; a claim that is not acknowledged before its lease
/// ends (the process died) is taken over by another process. The receiving peer deduplicates a re-sent envelope by its
/// id, so a takeover never delivers twice.
/// </para>
/// <para>
/// A lost connection (server restart, failover) fails the writes of the group in progress and the writer reconnects for
/// the next group. A commit whose reply was lost may have committed: callers never acknowledged it, and every write
/// the protocol retries is idempotent (agent batch ids, envelope ids), so the retry is answered as a duplicate; the audit
/// writer looks for a failed batch's last entry before it appends the batch again (<see cref="AuditLog.HoldsAsync"/>).
/// </para>
/// </remarks>
internal sealed class PostgresDatabase : IStoreDatabase
{
    /// <summary>The advisory lock every write transaction takes first (one per database, shared by all processes).</summary>
    internal const long WriteLock = 0x43794372_6F6F7002;

    private readonly NpgsqlDataSource _dataSource;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writerLoop;
    private NpgsqlConnection? _writer;
    private int _disposed;
    private long _groupsCommitted;
    private long _writesCommitted;

    private PostgresDatabase(NpgsqlDataSource dataSource, string description, PostgresStoreOptions options, TimeProvider time)
    {
        _dataSource = dataSource;
        Path = description;
        Options = options;
        Outage = new StoreOutageMonitor(description, time);
        _writerLoop = Task.Run(WriteLoopAsync);
    }

    /// <inheritdoc/>
    public StoreDialect Dialect => StoreDialect.Postgres;

    /// <inheritdoc/>
    public string Path { get; }

    /// <summary>Settings (outbox lease).</summary>
    public PostgresStoreOptions Options { get; }

    /// <summary>Whether the server is known to be unreachable now (set and cleared by the writer, refused calls and status).</summary>
    public StoreOutageMonitor Outage { get; }

    /// <summary>This process's name on outbox claims (unique per open store).</summary>
    public string Instance { get; } = Environment.MachineName + ":" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Transactions committed by this process's writer.</summary>
    public long GroupsCommitted => Interlocked.Read(ref _groupsCommitted);

    /// <summary>Writes committed by this process's writer.</summary>
    public long WritesCommitted => Interlocked.Read(ref _writesCommitted);

    /// <summary>Connects, checks the server and migrates the schema; throws with a clear message when the server cannot be used.</summary>
    public static async Task<PostgresDatabase> OpenAsync(string connectionString, PostgresStoreOptions options, CancellationToken ct, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var description = $"postgresql://{builder.Host}:{builder.Port}/{builder.Database}";
        var dataSource = NpgsqlDataSource.Create(builder);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await PostgresSchema.MigrateAsync(connection, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException && ex is not ObjectDisposedException)
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new StoreUnavailableException($"the PostgreSQL store {description} cannot be used: {ex.Message}", ex);
        }

        return new PostgresDatabase(dataSource, description, options, time ?? TimeProvider.System);
    }

    /// <inheritdoc/>
    public Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(ct);
        }

        var write = new PendingWrite<T>(work, ct);
        if (!_writes.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(PostgresDatabase), "the database is closed");
        }

        return write.Task;
    }

    /// <inheritdoc/>
    public DbConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _dataSource.OpenConnection();
    }

    /// <summary>An open pooled connection for a statement of its own (outbox claims).</summary>
    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct) => _dataSource.OpenConnectionAsync(ct);

    private async Task WriteLoopAsync()
    {
        var group = new List<PendingWrite>(SqliteDatabase.MaxGroup);
        while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (group.Count < SqliteDatabase.MaxGroup && _writes.Reader.TryRead(out var write))
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
            var connection = _writer ??= _dataSource.OpenConnection();
            using var transaction = connection.BeginTransaction();
            using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({WriteLock})", connection, transaction))
            {
                lockCommand.ExecuteNonQuery();
            }

            for (var i = 0; i < group.Count; i++)
            {
                transaction.Save("w");
                try
                {
                    group[i].Run(connection, transaction);
                    transaction.Release("w");
                }
                catch (Exception ex) when (ex is not OutOfMemoryException && !IsConnectionLost(ex))
                {
                    transaction.Rollback("w");
                    transaction.Release("w");
                    failed[i] = true;
                    group[i].Fail(ex);
                }
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            if (PostgresOutage.Of(ex) is { } outage)
            {
                Outage.Seen(outage);
            }

            if (_writer is { } broken && (IsConnectionLost(ex) || broken.FullState != System.Data.ConnectionState.Open))
            {
                // Reconnect for the next group (server restart, failover to a promoted replica).
                broken.Dispose();
                _writer = null;
            }

            PendingWrite.Complete(group, failed, ex);
            return;
        }

        Outage.Cleared();
        Interlocked.Increment(ref _groupsCommitted);
        Interlocked.Add(ref _writesCommitted, group.Count);
        PendingWrite.Complete(group, failed, error: null);
    }

    // Npgsql calls a deadlock or serialization failure transient too, but the connection is fine: the statement's write
    // fails alone (rolled back to its savepoint) and the group's other writes commit.
    private static bool IsConnectionLost(Exception ex) =>
        ex is NpgsqlException { IsTransient: true } and not PostgresException { SqlState: "40P01" or "40001" } ||
        ex is NpgsqlException { InnerException: IOException or System.Net.Sockets.SocketException } ||
        ex is PostgresException { SqlState: "57P01" or "57P02" or "57P03" };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Commit what is queued, then close.
        _writes.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        if (_writer is { } writer)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }

        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
