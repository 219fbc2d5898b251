using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Cli;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>
/// Damage met by a call while the node runs (the file damaged under it) reaches the caller as DATA_LOSS with the
/// diagnosis, instead of "Exception was thrown by handler"; other errors pass through untouched.
/// </summary>
public sealed class DamagedDatabaseInterceptorTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private GatewayStore _store = null!;

    public async ValueTask InitializeAsync() =>
        _store = await GatewayStore.OpenAsync(_temp.Combine("gateway.db"), TimeProvider.System, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        _temp.Dispose();
    }

    [Theory]
    [InlineData(11, "database disk image is malformed")]
    [InlineData(26, "file is not a database")]
    public async Task Sqlite_damage_in_a_call_is_answered_data_loss_naming_the_file_and_the_remedy(int code, string sqliteMessage)
    {
        var interceptor = new DamagedDatabaseInterceptor(_store, NullLogger<DamagedDatabaseInterceptor>.Instance);

        var error = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>(
            "request", null!, (_, _) => throw new SqliteException("SQLite Error " + code + ": '" + sqliteMessage + "'.", code)));

        Assert.Equal(StatusCode.DataLoss, error.StatusCode);
        Assert.Contains($"the database '{_store.Path}' is damaged", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(sqliteMessage, error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("restore the latest backup", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_sqlite_errors_are_not_called_damage()
    {
        var interceptor = new DamagedDatabaseInterceptor(_store, NullLogger<DamagedDatabaseInterceptor>.Instance);

        var error = await Assert.ThrowsAsync<SqliteException>(() => interceptor.UnaryServerHandler<string, string>(
            "request", null!, (_, _) => throw new SqliteException("SQLite Error 5: 'database is locked'.", 5)));

        Assert.Equal(5, error.SqliteErrorCode);
    }
}
