namespace CyberCoop.Gateway.Storage;

/// <summary>Status resources of POSTs to the TAXII outbound collection, kept across restarts.</summary>
internal interface ITaxiiStatusStore
{
    /// <summary>Keeps a status resource and drops the expired ones and all but the newest <paramref name="capacity"/>.</summary>
    Task SaveTaxiiStatusAsync(Guid id, string owner, DateTimeOffset createdAt, string status, DateTimeOffset expireBefore, int capacity, CancellationToken ct);

    /// <summary>The status resource <paramref name="id"/>: who posted it, when, and its JSON text; null when not kept.</summary>
    Task<(string Owner, DateTimeOffset CreatedAt, string Status)?> ReadTaxiiStatusAsync(Guid id, CancellationToken ct);
}
