using System.Collections.Concurrent;
using CyberCoop.Gateway.Storage;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Security;

/// <summary>
/// Per caller (own agents and peer gateways): last seen, what it sent, its last error and which sequence of this node's
/// trust bundle it holds — so `status` and the metrics show a sensor that went quiet or a peer that has not fetched a
/// rotation yet. Held in memory for status and metrics, persisted in <c>caller_activity</c>: an agent's counters move in
/// its batch's own commit (exact), bundle fetches and errors are written right after they happen.
/// </summary>
internal sealed class CallerActivity(IActivityStore store, TimeProvider time, ILogger<CallerActivity> logger)
{
    private readonly ConcurrentDictionary<string, CallerActivityRow> _rows = new(StringComparer.Ordinal);

    /// <summary>Every caller seen, by SPIFFE id.</summary>
    public IReadOnlyDictionary<string, CallerActivityRow> Rows => _rows;

    /// <summary>Loads what the store remembers (at start).</summary>
    public void Restore(IEnumerable<CallerActivityRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
        {
            _rows[row.Caller] = row;
        }
    }

    /// <summary>Mirrors a committed batch (already counted in its transaction by the store).</summary>
    public void BatchCommitted(string agent, int stored, int rejected, string? firstRejection)
    {
        var now = time.GetUtcNow();
        _rows.AddOrUpdate(
            agent,
            _ => New(agent, CallerKinds.Agent, now) with
            {
                Batches = 1, SightingsStored = stored, SightingsRejected = rejected,
                LastError = firstRejection, LastErrorAt = firstRejection is null ? null : now,
            },
            (_, row) => row with
            {
                LastSeen = now, Batches = row.Batches + 1, SightingsStored = row.SightingsStored + stored,
                SightingsRejected = row.SightingsRejected + rejected,
                LastError = firstRejection ?? row.LastError, LastErrorAt = firstRejection is null ? row.LastErrorAt : now,
            });
    }

    /// <summary>Records a trust bundle fetch by a caller that said it held <paramref name="knownSequence"/>.</summary>
    public void BundleFetched(string caller, string kind, ulong knownSequence)
    {
        var now = time.GetUtcNow();
        // After the call the caller holds what was served if it accepted it; what it reported is what it had proved to
        // hold. Show the reported one: a caller that refuses the served bundle keeps reporting its old sequence.
        _rows.AddOrUpdate(
            caller,
            _ => New(caller, kind, now) with { BundleSequence = knownSequence, BundleFetchedAt = now },
            (_, row) => row with { LastSeen = now, BundleSequence = knownSequence, BundleFetchedAt = now });
        _ = Persist(store.RecordBundleFetchAsync(caller, kind, knownSequence, now, CancellationToken.None), caller);
    }

    /// <summary>Records an error of a caller (a refused call, stream or batch).</summary>
    public void Failed(string caller, string kind, string error)
    {
        var now = time.GetUtcNow();
        _rows.AddOrUpdate(
            caller,
            _ => New(caller, kind, now) with { LastError = error, LastErrorAt = now },
            (_, row) => row with { LastSeen = now, LastError = error, LastErrorAt = now });
        _ = Persist(store.RecordCallerErrorAsync(caller, kind, error, now, CancellationToken.None), caller);
    }

    private static CallerActivityRow New(string caller, string kind, DateTimeOffset now) =>
        new() { Caller = caller, Kind = kind, FirstSeen = now, LastSeen = now };

    private async Task Persist(Task write, string caller)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            GatewayLog.CallerActivityNotSaved(logger, caller, ex.Message);
        }
    }
}
