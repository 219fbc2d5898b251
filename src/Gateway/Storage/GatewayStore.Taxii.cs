using System.Globalization;

namespace CyberCoop.Gateway.Storage;

/// <summary>The TAXII side of the store: status resources of POSTs to the outbound collection.</summary>
internal sealed partial class GatewayStore : ITaxiiStatusStore
{
    /// <summary>
    /// Keeps a status resource (its JSON text) of <paramref name="owner"/>, and in the same transaction drops the ones
    /// created before <paramref name="expireBefore"/> and all but the newest <paramref name="capacity"/>.
    /// </summary>
    public Task SaveTaxiiStatusAsync(Guid id, string owner, DateTimeOffset createdAt, string status, DateTimeOffset expireBefore, int capacity, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentException.ThrowIfNullOrEmpty(status);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return WriteAsync(
            (connection, transaction) =>
            {
                Execute(connection, transaction, "INSERT INTO taxii_statuses (id, owner, created_at, status) VALUES (@id, @owner, @at, @status)",
                    ("@id", id.ToString("D")), ("@owner", owner), ("@at", UnixTime.ToMs(createdAt)), ("@status", status));
                Execute(connection, transaction, "DELETE FROM taxii_statuses WHERE created_at < @before", ("@before", UnixTime.ToMs(expireBefore)));
                Execute(connection, transaction,
                    "DELETE FROM taxii_statuses WHERE created_at < (SELECT created_at FROM taxii_statuses ORDER BY created_at DESC LIMIT 1 OFFSET " +
                    capacity.ToString(CultureInfo.InvariantCulture) + ")");
                return true;
            },
            ct);
    }

    /// <summary>The status resource <paramref name="id"/>: who posted it, when, and its JSON text; null when not kept.</summary>
    public async Task<(string Owner, DateTimeOffset CreatedAt, string Status)?> ReadTaxiiStatusAsync(Guid id, CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT owner, created_at, status FROM taxii_statuses WHERE id = @id";
        command.Parameters.AddWithValue("@id", id.ToString("D"));
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false)
            ? (reader.GetString(0), UnixTime.FromMs(reader.GetInt64(1)), reader.GetString(2))
            : null;
    }
}
