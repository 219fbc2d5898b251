namespace CyberCoop.Gateway.Storage;

/// <summary>Settings of the PostgreSQL store (<c>storage.postgres</c> in gateway.json).</summary>
internal sealed record PostgresStoreOptions
{
    /// <summary>
    /// How long an outbox envelope claimed by one gateway process stays its own without being acknowledged or renewed;
    /// after that another process of the same nation takes it over (a dead process's claims expire).
    /// </summary>
    public TimeSpan OutboxLease { get; init; } = TimeSpan.FromSeconds(30);
}
