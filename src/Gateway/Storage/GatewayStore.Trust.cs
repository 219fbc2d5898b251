namespace CyberCoop.Gateway.Storage;

/// <summary>A peer domain's newest accepted trust bundle as stored (bytes exactly as received).</summary>
/// <param name="TrustDomain">The peer's trust domain.</param>
/// <param name="AnchorPin">Pin of the configured root the bundle's chain of trust started from.</param>
/// <param name="Sequence">The bundle's sequence number.</param>
/// <param name="Signed">Serialized SignedTrustBundle.</param>
/// <param name="AcceptedAt">When it was accepted.</param>
internal sealed record StoredTrustBundle(string TrustDomain, string AnchorPin, ulong Sequence, byte[] Signed, DateTimeOffset AcceptedAt);

/// <summary>Trust bundles accepted from peer domains.</summary>
internal sealed partial class GatewayStore : ITrustBundleStore
{
    /// <summary>Stores <paramref name="bundle"/> as the held bundle of its domain, replacing the previous one.</summary>
    public Task SaveTrustBundleAsync(StoredTrustBundle bundle, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentException.ThrowIfNullOrEmpty(bundle.TrustDomain);
        return WriteAsync(
            (connection, transaction) => Execute(connection, transaction,
                "INSERT INTO peer_trust_bundles (trust_domain, anchor_pin, sequence, signed, accepted_at) VALUES (@d, @p, @s, @b, @t) " +
                "ON CONFLICT(trust_domain) DO UPDATE SET anchor_pin = excluded.anchor_pin, sequence = excluded.sequence, " +
                "signed = excluded.signed, accepted_at = excluded.accepted_at",
                ("@d", bundle.TrustDomain), ("@p", bundle.AnchorPin), ("@s", checked((long)bundle.Sequence)), ("@b", bundle.Signed),
                ("@t", UnixTime.ToMs(bundle.AcceptedAt))),
            ct);
    }

    /// <summary>Every held peer bundle.</summary>
    public async Task<IReadOnlyList<StoredTrustBundle>> ReadTrustBundlesAsync(CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT trust_domain, anchor_pin, sequence, signed, accepted_at FROM peer_trust_bundles ORDER BY trust_domain";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var bundles = new List<StoredTrustBundle>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            bundles.Add(new StoredTrustBundle(
                reader.GetString(0),
                reader.GetString(1),
                (ulong)reader.GetInt64(2),
                reader.GetFieldValue<byte[]>(3),
                UnixTime.FromMs(reader.GetInt64(4))));
        }

        return bundles;
    }
}
