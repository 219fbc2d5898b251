namespace CyberCoop.Gateway.Storage;

/// <summary>Storage tuning; the defaults are the safe choice.</summary>
internal sealed record StoreOptions
{
    /// <summary>
    /// True (default): PRAGMA synchronous=FULL. In WAL mode every commit then fsyncs the WAL, so a commit survives
    /// power loss and OS crash, not only a process crash. This matters because an ack to an agent or peer follows the
    /// commit, and the peer deletes its copy on that ack: losing an acknowledged commit loses the data for good.
    /// Commits are batched (a whole agent batch or envelope at least, and writes that arrive together share one
    /// transaction: group commit), so the fsync is paid per batch or group, not per indicator.
    /// False: synchronous=NORMAL, which in WAL mode still survives kill -9 (the WAL is written before commit
    /// returns) but may lose the last transactions on power loss; only for tests and benchmarks.
    /// </summary>
    public bool DurableAgainstPowerLoss { get; init; } = true;

    /// <summary>Page cache of the writer connection in KiB.</summary>
    public int CacheSizeKiB { get; init; } = 32 * 1024;
}
