using System.Text.Json;
using System.Text.Json.Nodes;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// The status resources of the outbound collection's POSTs (TAXII 2.1 §4.3), readable by the analyst who posted,
/// for <see cref="Lifetime"/>, at most <see cref="Capacity"/> (the oldest go first). Kept in the node's store, so a
/// status survives a restart like the POSTed objects it reports on.
/// </summary>
internal sealed class TaxiiStatusStore(ITaxiiStatusStore store, TimeProvider time)
{
    public const int Capacity = 10_000;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    public Task AddAsync(Guid id, string owner, JsonObject status, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(status);
        var now = time.GetUtcNow();
        return store.SaveTaxiiStatusAsync(id, owner, now, status.ToJsonString(), now - Lifetime, Capacity, ct);
    }

    /// <summary>The status <paramref name="id"/> if <paramref name="owner"/> posted it and it has not expired.</summary>
    public async Task<JsonObject?> FindAsync(Guid id, string owner, CancellationToken ct)
    {
        if (await store.ReadTaxiiStatusAsync(id, ct).ConfigureAwait(false) is not { } saved
            || !string.Equals(saved.Owner, owner, StringComparison.Ordinal)
            || time.GetUtcNow() - saved.CreatedAt >= Lifetime)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(saved.Status) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
