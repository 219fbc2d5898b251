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
/// acknowledged.
/// </summary>
internal sealed class DamagedDatabaseInterceptor(GatewayStore store, ILogger<DamagedDatabaseInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsDamage(ex))
        {
            throw Diagnose(ex);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsFull(ex))
        {
            throw Full(context);
        }
        catch (PostgresException ex) when (PostgresExhaustion.Of(ex) is not null)
        {
            throw Exhausted(ex, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsDamage(ex))
        {
            throw Diagnose(ex);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsFull(ex))
        {
            throw Full(context);
        }
        catch (PostgresException ex) when (PostgresExhaustion.Of(ex) is not null)
        {
            throw Exhausted(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsDamage(ex))
        {
            throw Diagnose(ex);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsFull(ex))
        {
            throw Full(context);
        }
        catch (PostgresException ex) when (PostgresExhaustion.Of(ex) is not null)
        {
            throw Exhausted(ex, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsDamage(ex))
        {
            throw Diagnose(ex);
        }
        catch (SqliteException ex) when (DatabaseCheck.IsFull(ex))
        {
            throw Full(context);
        }
        catch (PostgresException ex) when (PostgresExhaustion.Of(ex) is not null)
        {
            throw Exhausted(ex, context);
        }
    }

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
        var message = $"{code}: the PostgreSQL store {store.Path} cannot take writes: {cause} (SQLSTATE {ex.SqlState}: {ex.MessageText}); " +
            "nothing of this request was stored or acknowledged: retry after " + (code == StorageFull ? "space is freed" : "the server has the resource again");
        GatewayLog.StorageFull(logger, context.Method, message);
        return new RpcException(new Status(StatusCode.ResourceExhausted, message));
    }

    private RpcException Diagnose(SqliteException ex)
    {
        var damaged = DatabaseCheck.Damaged(store.Path, ex);
        GatewayLog.DatabaseDamaged(logger, damaged.Message);
        return new RpcException(new Status(StatusCode.DataLoss, damaged.Message));
    }
}
