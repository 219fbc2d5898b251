using System.Runtime.CompilerServices;
using CyberCoop.Contracts.V1;
using System.Data;
using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// A stored indicator as the interoperability exports read it: the record merged from every source, and this node's
/// origin view (own sightings only; null when no own agent reported it, see <see cref="OwnState"/>).
/// </summary>
internal sealed record StoredViews(Indicator Merged, Indicator? OwnView);

/// <summary>
/// What one allied node reported back about one of this node's indicators, summed over its reports (STIX
/// <c>sighting</c>): <see cref="LastReceived"/> is when its newest report arrived (the sighting's version).
/// </summary>
internal sealed record SightingsBack(string IndicatorId, string Reporter, long Count, DateTimeOffset FirstSeen, DateTimeOffset LastSeen,
    IReadOnlyList<string> Sectors, DateTimeOffset LastReceived);

/// <summary>Reads for the interoperability views (STIX, MISP feed, TAXII).</summary>
internal sealed partial class GatewayStore : IExportStore
{
    /// <summary>
    /// Every stored indicator with its origin view, in id order, streamed in one scan (no query per indicator): the
    /// exports build the object of this node's own domain from the origin view only (docs/interoperability.md).
    /// </summary>
    public async IAsyncEnumerable<StoredViews> ReadAllViewsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT blob, own_state, own_blob FROM indicators ORDER BY id_key";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            yield return ReadViews(reader, 0);
        }
    }

    /// <summary>
    /// Every indicator (merged record and origin view) with the time it was last stored or changed (TAXII's date_added
    /// of its current version), changed after <paramref name="after"/> when given. A scan of the table (updated_at has
    /// no index: it would slow every merge on the ingest path), streamed.
    /// </summary>
    public async IAsyncEnumerable<(DateTimeOffset UpdatedAt, StoredViews Views)> ReadIndicatorsWithUpdateTimeAsync(
        DateTimeOffset? after, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT updated_at, blob, own_state, own_blob FROM indicators WHERE updated_at > @after";
        command.Parameters.AddWithValue("@after", after is null ? long.MinValue : UnixTime.ToMs(after.Value));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            yield return (UnixTime.FromMs(reader.GetInt64(0)), ReadViews(reader, 1));
        }
    }

    /// <summary>
    /// The sightings reported back to this node, summed per (indicator, reporter), with a report received after
    /// <paramref name="after"/> when given (a full scan of sightings_received: one row per report and indicator).
    /// </summary>
    public async Task<IReadOnlyList<SightingsBack>> ReadSightingsBackAsync(DateTimeOffset? after, CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT indicator_id, reporter, CAST(SUM(count) AS BIGINT), MIN(first_seen), MAX(last_seen), " + StoreDialect.Of(connection).JoinedWithCommas("sectors") +
            ", MAX(received_at) FROM sightings_received GROUP BY indicator_id, reporter HAVING MAX(received_at) > @after ORDER BY indicator_id, reporter";
        command.Parameters.AddWithValue("@after", after is null ? long.MinValue : UnixTime.ToMs(after.Value));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var all = new List<SightingsBack>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var sectors = reader.IsDBNull(5) ? [] : reader.GetString(5).Split(',', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            all.Add(new SightingsBack(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), UnixTime.FromMs(reader.GetInt64(3)), UnixTime.FromMs(reader.GetInt64(4)),
                sectors, UnixTime.FromMs(reader.GetInt64(6))));
        }

        return all;
    }

    /// <summary>Reads (blob, own_state, own_blob) starting at column <paramref name="first"/>.</summary>
    private static StoredViews ReadViews(DbDataReader reader, int first)
    {
        var merged = Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(first));
        var own = (OwnState)reader.GetInt32(first + 1) switch
        {
            OwnState.Whole => merged,
            OwnState.Separate when !reader.IsDBNull(first + 2) => Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(first + 2)),
            _ => null,
        };
        return new StoredViews(merged, own);
    }
}
