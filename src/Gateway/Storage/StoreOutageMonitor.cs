namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Whether the store's PostgreSQL server is known to be unreachable or not serving now, why (the text the
/// <c>store-unavailable:</c> refusals carry) and since when: set by a refused call, a failed write group or a
/// <c>status</c> read that met an outage (<see cref="PostgresOutage"/>), cleared by the next committed write group or
/// <c>status</c> read. Never set on SQLite.
/// </summary>
internal sealed class StoreOutageMonitor(string store, TimeProvider time)
{
    private readonly Lock _lock = new();
    private (string Cause, DateTimeOffset Since)? _current;

    /// <summary>The outage now and when it was first met, or null while the store serves.</summary>
    public (string Cause, DateTimeOffset Since)? Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>Records that the store met <paramref name="outage"/> (<see cref="PostgresOutage.Of"/>); returns the cause in words.</summary>
    public string Seen(string outage)
    {
        var cause = $"the PostgreSQL store {store} is unreachable or not serving: {outage}";
        lock (_lock)
        {
            _current = (cause, _current?.Since ?? time.GetUtcNow());
        }

        return cause;
    }

    /// <summary>Records that the store served (a write committed, a read answered).</summary>
    public void Cleared()
    {
        lock (_lock)
        {
            _current = null;
        }
    }
}
