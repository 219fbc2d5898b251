using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// The status resources of the outbound collection's POSTs (TAXII 2.1 §4.3), readable by the analyst who posted,
/// for <see cref="Lifetime"/>, at most <see cref="Capacity"/> (the oldest go first). Kept in memory: a status does not
/// survive a restart (the POSTed objects do: they were committed before the status was answered).
/// </summary>
internal sealed class TaxiiStatusStore(TimeProvider time)
{
    public const int Capacity = 10_000;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    private readonly ConcurrentDictionary<Guid, (string Owner, DateTimeOffset At, JsonObject Status)> _statuses = new();
    private readonly ConcurrentQueue<Guid> _order = new();

    public void Add(Guid id, string owner, JsonObject status)
    {
        _statuses[id] = (owner, time.GetUtcNow(), status);
        _order.Enqueue(id);
        while (_order.Count > Capacity && _order.TryDequeue(out var oldest))
        {
            _statuses.TryRemove(oldest, out _);
        }
    }

    /// <summary>The status <paramref name="id"/> if <paramref name="owner"/> posted it and it has not expired.</summary>
    public JsonObject? Find(Guid id, string owner) =>
        _statuses.TryGetValue(id, out var entry) && string.Equals(entry.Owner, owner, StringComparison.Ordinal) && time.GetUtcNow() - entry.At < Lifetime
            ? entry.Status
            : null;
}
