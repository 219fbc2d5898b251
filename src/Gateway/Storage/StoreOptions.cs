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

    /// <summary>
    /// WAL pages (4 KiB each) the writer appends before a background checkpoint copies them into the database file
    /// (default 65,536 pages, 256 MiB). SQLite's own auto-checkpoint (every 1,000 pages, on the committing thread) is
    /// off: with it, nearly every group commit was followed by a checkpoint that wrote each page it had dirtied a
    /// second time, into the database file, and fsynced it, before the next group could start. Checkpointing less
    /// often writes a page dirtied by many transactions (the random leaf pages of the id index) to the database file
    /// once. The WAL stays bounded: after each background checkpoint the writer copies the few frames committed while
    /// it ran and the WAL restarts from its beginning (unless a reader still reads from it; the next round retries),
    /// and PRAGMA journal_size_limit truncates the file to twice this size after a restart. Durability is unchanged:
    /// every commit is in the WAL (fsynced with synchronous=FULL) before its caller is answered; a crash leaves at most
    /// about this much WAL to recover on the next open.
    /// </summary>
    public int CheckpointPages { get; init; } = 64 * 1024;

    /// <summary>
    /// Largest size of the database file in bytes (SQLite's max_page_count on the writer), or null for no limit but the
    /// disk's. A write that would grow the database beyond it fails with SQLITE_FULL, as on a full disk.
    /// </summary>
    public long? MaxDatabaseBytes { get; init; }
}
