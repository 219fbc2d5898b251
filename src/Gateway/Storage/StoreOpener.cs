using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Storage;

/// <summary>Opens the store a node's config names: PostgreSQL when <c>storage.postgres</c> is set, else the SQLite file of <c>node.storage</c>.</summary>
internal static class StoreOpener
{
    /// <summary>Opens (creating or migrating) the configured store.</summary>
    public static Task<GatewayStore> OpenAsync(LoadedConfig loaded, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(time);
        return loaded.Config.Storage?.Postgres is { } postgres
            ? GatewayStore.OpenPostgresAsync(postgres.ConnectionString, time, Options(postgres), ct)
            : GatewayStore.OpenAsync(loaded.Resolve(loaded.Config.Node.Storage), time, SqliteOptions(loaded.Config.Node), ct);
    }

    /// <summary>True when the node's state is in PostgreSQL.</summary>
    public static bool IsPostgres(LoadedConfig loaded) => loaded.Config.Storage?.Postgres is not null;

    /// <summary>node.storageMaxMegabytes as SQLite's page limit (0: only the disk limits the file).</summary>
    private static StoreOptions SqliteOptions(NodeConfig node) =>
        new() { MaxDatabaseBytes = node.StorageMaxMegabytes > 0 ? node.StorageMaxMegabytes * 1024L * 1024 : null };

    private static PostgresStoreOptions Options(PostgresConfig postgres) =>
        new() { OutboxLease = TimeSpan.FromSeconds(postgres.OutboxLeaseSeconds) };
}
