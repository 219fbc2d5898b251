using CyberCoop.Gateway.Storage;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// Turns SQLite's "database disk image is malformed" / "file is not a database", met by any call while the node runs
/// (the file damaged under it), into <see cref="StatusCode.DataLoss"/> with the same one-line diagnosis the node gives
/// at start (file, problem, restore from backup), logged as an error, instead of "Exception was thrown by handler".
/// A write refused because the database reached node.storageMaxMegabytes or its disk is full (SQLITE_FULL) becomes
/// <see cref="StatusCode.ResourceExhausted"/> <c>storage-full: ...</c>: the caller keeps what was not acknowledged and
/// retries, and the node keeps serving reads and resumes writing once space returns. On the PostgreSQL store the
/// server's own resource errors (SQLSTATE class 53, <see cref="PostgresExhaustion"/>) are answered the same way: a full
/// disk or tablespace (53100) as <c>storage-full: ...</c>, out of memory, too many connections or another server limit
/// as <c>storage-exhausted: ...</c>, each naming the cause; the write they met was rolled back, so nothing of it was
/// acknowledged. A PostgreSQL server that cannot be reached or does not serve yet (stopped, crashed — e.g. its pg_wal
/// volume filled up and it PANICked —, in recovery, connection lost; <see cref="PostgresOutage"/>) is answered with
/// <see cref="StatusCode.Unavailable"/> <c>store-unavailable: ...</c> naming the store and the outage: the caller
/// re-sends with its ordinary backoff, and the store reconnects by itself once the server is back.
/// </summary>
internal sealed class DamagedDatabaseInterceptor(IStoreHealth store, ILogger<DamagedDatabaseInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw Translate(ex, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw Translate(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw Translate(ex, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw Translate(ex, context);
        }
    }

    /// <summary>Whether <paramref name="ex"/> is a store failure this interceptor answers with its own status.</summary>
    private static bool IsStoreFailure(Exception ex) => ex switch
    {
        SqliteException sqlite => DatabaseCheck.IsDamage(sqlite) || DatabaseCheck.IsFull(sqlite),
        PostgresException pg when PostgresExhaustion.Of(pg) is not null => true,
        _ => PostgresOutage.Of(ex) is not null,
    };

    private RpcException Translate(Exception ex, ServerCallContext context) => ex switch
    {
        SqliteException sqlite when DatabaseCheck.IsDamage(sqlite) => Diagnose(sqlite),
        SqliteException => Full(context),
        PostgresException pg when PostgresExhaustion.Of(pg) is not null => Exhausted(pg, context),
        _ => Unavailable(PostgresOutage.Of(ex)!, context),
    };

    /// <summary>The text code that starts the detail of a storage-full refusal.</summary>
    public const string StorageFull = "storage-full";

    private RpcException Full(ServerCallContext context)
    {
        var message = $"{StorageFull}: the database {store.Path} cannot grow (node.storageMaxMegabytes reached, or the disk holding it is full); " +
            "nothing of this request was stored or acknowledged: retry after space is freed";
        GatewayLog.StorageFull(logger, context.Method, message);
        return new RpcException(new Status(StatusCode.ResourceExhausted, message));
    }

    /// <summary>The text code that starts the detail of a refusal because the PostgreSQL server ran out of another resource.</summary>
    public const string StorageExhausted = "storage-exhausted";

    private RpcException Exhausted(PostgresException ex, ServerCallContext context)
    {
        var cause = PostgresExhaustion.Of(ex)!;
        var code = ex.SqlState == PostgresExhaustion.DiskFull ? StorageFull : StorageExhausted;
        var hint = string.IsNullOrEmpty(ex.Hint) ? "" : $"; hint: {ex.Hint}";
        var message = $"{code}: the PostgreSQL store {store.Path} {(code == StorageFull ? "cannot take writes" : "cannot serve the request")}: {cause} (SQLSTATE {ex.SqlState}: {ex.MessageText}{hint}); " +
            "nothing of this request was stored or acknowledged: retry after " + (code == StorageFull ? "space is freed" : "the server has the resource again");
        GatewayLog.StorageFull(logger, context.Method, message);
        return new RpcException(new Status(StatusCode.ResourceExhausted, message));
    }

    /// <summary>The text code that starts the detail of a refusal because the PostgreSQL server is unreachable or not serving yet.</summary>
    public const string StoreUnavailable = "store-unavailable";

    private RpcException Unavailable(string outage, ServerCallContext context)
    {
        var cause = store.Outage?.Seen(outage) ?? $"the store {store.Path} is unreachable: {outage}";
        var message = $"{StoreUnavailable}: {cause}; " +
            "nothing of this request was acknowledged: re-send it once the server is back (a write that committed before the connection broke is recognised and not stored twice)";
        GatewayLog.StorageFull(logger, context.Method, message);
        return new RpcException(new Status(StatusCode.Unavailable, message));
    }

    private RpcException Diagnose(SqliteException ex)
    {
        var damaged = DatabaseCheck.Damaged(store.Path, ex);
        GatewayLog.DatabaseDamaged(logger, damaged.Message);
        return new RpcException(new Status(StatusCode.DataLoss, damaged.Message));
    }
}
