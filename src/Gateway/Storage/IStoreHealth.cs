namespace CyberCoop.Gateway.Storage;

/// <summary>
/// What the store is and whether it serves: its path (or PostgreSQL address) for messages, and the outage its server is
/// known to be in (PostgreSQL only). For the status report and the refusals that name the store.
/// </summary>
internal interface IStoreHealth
{
    /// <summary>The SQLite file, or <c>postgresql://host:port/database</c>.</summary>
    string Path { get; }

    /// <summary>The PostgreSQL server's outage tracker; null on SQLite.</summary>
    StoreOutageMonitor? Outage { get; }
}
