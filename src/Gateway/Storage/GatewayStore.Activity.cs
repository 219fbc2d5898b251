using CyberCoop.Contracts.V1;
using System.Data;
using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>What a caller (own agent or peer gateway) did, as persisted in <c>caller_activity</c>.</summary>
internal sealed record CallerActivityRow
{
    /// <summary>SPIFFE id of the caller.</summary>
    public required string Caller { get; init; }

    /// <summary><see cref="CallerKinds.Agent"/> or <see cref="CallerKinds.Peer"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>First call seen.</summary>
    public required DateTimeOffset FirstSeen { get; init; }

    /// <summary>Last call seen (a committed batch, a bundle fetch or a refused call).</summary>
    public required DateTimeOffset LastSeen { get; init; }

    /// <summary>Batches committed (agents).</summary>
    public long Batches { get; init; }

    /// <summary>Sightings stored, accepted or merged (agents).</summary>
    public long SightingsStored { get; init; }

    /// <summary>Sightings refused with a per-item reason (agents).</summary>
    public long SightingsRejected { get; init; }

    /// <summary>The last error: a refused sighting, a refused batch or call.</summary>
    public string? LastError { get; init; }

    /// <summary>When <see cref="LastError"/> happened.</summary>
    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>Sequence of this node's trust bundle the caller said it held at its last fetch (after the fetch: the one served).</summary>
    public ulong? BundleSequence { get; init; }

    /// <summary>When the caller last fetched the trust bundle.</summary>
    public DateTimeOffset? BundleFetchedAt { get; init; }
}

/// <summary>Kinds of callers tracked in <c>caller_activity</c>.</summary>
internal static class CallerKinds
{
    /// <summary>An agent of the own domain.</summary>
    public const string Agent = "agent";

    /// <summary>A peer gateway.</summary>
    public const string Peer = "peer";
}

/// <summary>Per-caller activity.</summary>
internal sealed partial class GatewayStore : IActivityStore
{
    private const string UpsertSeen =
        "INSERT INTO caller_activity (caller, kind, first_seen, last_seen) VALUES (@c, @k, @t, @t) " +
        "ON CONFLICT(caller) DO UPDATE SET last_seen = CASE WHEN excluded.last_seen > caller_activity.last_seen THEN excluded.last_seen ELSE caller_activity.last_seen END";

    /// <summary>Counts one committed ingest batch for its agent, inside the batch's own transaction (exact across crashes).</summary>
    private static void CountIngest(DbConnection connection, DbTransaction transaction, string agentId, DateTimeOffset now, IngestResult results)
    {
        long stored = 0, rejected = 0;
        string? firstReason = null;
        foreach (var item in results.Items)
        {
            if (item.Outcome == ItemOutcome.Rejected)
            {
                rejected++;
                firstReason ??= $"sighting {item.Index} rejected: {item.Reason}";
            }
            else
            {
                stored++;
            }
        }

        var at = UnixTime.ToMs(now);
        Execute(connection, transaction, UpsertSeen, ("@c", agentId), ("@k", CallerKinds.Agent), ("@t", at));
        Execute(connection, transaction,
            "UPDATE caller_activity SET batches = batches + 1, sightings_stored = sightings_stored + @s, sightings_rejected = sightings_rejected + @r, " +
            "last_error = COALESCE(@e, last_error), last_error_at = CASE WHEN @e IS NULL THEN last_error_at ELSE @t END WHERE caller = @c",
            ("@c", agentId), ("@s", stored), ("@r", rejected), ("@e", (object?)firstReason ?? DBNull.Value), ("@t", at));
    }

    /// <summary>Records that <paramref name="caller"/> fetched the trust bundle, holding <paramref name="knownSequence"/> before.</summary>
    public Task RecordBundleFetchAsync(string caller, string kind, ulong knownSequence, DateTimeOffset at, CancellationToken ct) =>
        TouchAsync(caller, kind, at, "UPDATE caller_activity SET bundle_sequence = @v, bundle_fetched_at = @t WHERE caller = @c", checked((long)knownSequence), ct);

    /// <summary>Records an error of <paramref name="caller"/> (a refused call or batch).</summary>
    public Task RecordCallerErrorAsync(string caller, string kind, string error, DateTimeOffset at, CancellationToken ct) =>
        TouchAsync(caller, kind, at, "UPDATE caller_activity SET last_error = @v, last_error_at = @t WHERE caller = @c", error, ct);

    /// <summary>Marks <paramref name="caller"/> seen at <paramref name="at"/> and runs <paramref name="update"/> (@c caller, @t time, @v value).</summary>
    private Task TouchAsync(string caller, string kind, DateTimeOffset at, string update, object value, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(caller);
        var ms = UnixTime.ToMs(at);
        return WriteAsync(
            (connection, transaction) =>
            {
                Execute(connection, transaction, UpsertSeen, ("@c", caller), ("@k", kind), ("@t", ms));
                return Execute(connection, transaction, update, ("@c", caller), ("@v", value), ("@t", ms));
            },
            ct);
    }

    /// <summary>Every caller's activity.</summary>
    public async Task<IReadOnlyList<CallerActivityRow>> ReadCallerActivityAsync(CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT caller, kind, first_seen, last_seen, batches, sightings_stored, sightings_rejected, last_error, last_error_at, " +
            "bundle_sequence, bundle_fetched_at FROM caller_activity ORDER BY caller";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<CallerActivityRow>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new CallerActivityRow
            {
                Caller = reader.GetString(0),
                Kind = reader.GetString(1),
                FirstSeen = UnixTime.FromMs(reader.GetInt64(2)),
                LastSeen = UnixTime.FromMs(reader.GetInt64(3)),
                Batches = reader.GetInt64(4),
                SightingsStored = reader.GetInt64(5),
                SightingsRejected = reader.GetInt64(6),
                LastError = reader.IsDBNull(7) ? null : reader.GetString(7),
                LastErrorAt = reader.IsDBNull(8) ? null : UnixTime.FromMs(reader.GetInt64(8)),
                BundleSequence = reader.IsDBNull(9) ? null : (ulong)reader.GetInt64(9),
                BundleFetchedAt = reader.IsDBNull(10) ? null : UnixTime.FromMs(reader.GetInt64(10)),
            });
        }

        return rows;
    }
}
