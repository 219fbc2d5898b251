using System.Runtime.CompilerServices;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>Reads for the interoperability views (TAXII).</summary>
internal sealed partial class GatewayStore
{
    /// <summary>
    /// Every indicator with the time it was last stored or changed (TAXII's date_added of its current version),
    /// changed after <paramref name="after"/> when given. A scan of the table (updated_at has no index: it would
    /// slow every merge on the ingest path), streamed.
    /// </summary>
    public async IAsyncEnumerable<(DateTimeOffset UpdatedAt, Indicator Indicator)> ReadIndicatorsWithUpdateTimeAsync(
        DateTimeOffset? after, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT updated_at, blob FROM indicators WHERE updated_at > $after";
        command.Parameters.AddWithValue("$after", after is null ? long.MinValue : UnixTime.ToMs(after.Value));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            yield return (UnixTime.FromMs(reader.GetInt64(0)), Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(1)));
        }
    }
}
