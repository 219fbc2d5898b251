using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The database engine under <see cref="GatewayStore"/>: SQLite (<see cref="SqliteDatabase"/>, the default) or
/// PostgreSQL (<see cref="PostgresDatabase"/>). The store's SQL and its merge, idempotency and exactly-once rules are
/// written once against this seam; an engine supplies the write path (one transaction per group of writes, each write
/// in its own savepoint, completed only after the commit), read connections and its <see cref="StoreDialect"/>.
/// </summary>
internal interface IStoreDatabase : IAsyncDisposable
{
    /// <summary>The SQL differences of this engine.</summary>
    StoreDialect Dialect { get; }

    /// <summary>Where the data lives, for messages: the SQLite file, or the PostgreSQL server and database (never a password).</summary>
    string Path { get; }

    /// <summary>
    /// Runs <paramref name="work"/> inside a write transaction (possibly shared with other writes, each in its own
    /// savepoint); completes after that transaction committed, faulted with the work's or the commit's exception.
    /// </summary>
    Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken ct);

    /// <summary>An open connection for reads (the caller disposes it).</summary>
    DbConnection OpenReader();
}
