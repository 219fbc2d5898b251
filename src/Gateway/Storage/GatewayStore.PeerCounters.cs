using System.Data;
using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>The persisted counters of one peer (<c>peer_counters</c>), restored into the live counters at start.</summary>
internal sealed record PeerCountersRow
{
    /// <summary>SPIFFE id of the peer.</summary>
    public required string Peer { get; init; }

    /// <summary>Envelopes the peer acknowledged as accepted or duplicate.</summary>
    public long EnvelopesSent { get; init; }

    /// <summary>Indicators in those envelopes.</summary>
    public long IndicatorsSent { get; init; }

    /// <summary>Envelopes from the peer committed as new.</summary>
    public long EnvelopesReceived { get; init; }

    /// <summary>Indicators accepted from those envelopes.</summary>
    public long IndicatorsReceived { get; init; }

    /// <summary>Indicators withheld from the peer by the outbound policy.</summary>
    public long IndicatorsWithheld { get; init; }
}

/// <summary>Per-peer counters, each moved inside the transaction of what it counts.</summary>
internal sealed partial class GatewayStore
{
    /// <summary>Adds to the counters of <paramref name="peer"/> inside <paramref name="transaction"/>.</summary>
    private static void CountPeer(DbConnection connection, DbTransaction transaction, string peer,
        long envelopesSent = 0, long indicatorsSent = 0, long envelopesReceived = 0, long indicatorsReceived = 0, long indicatorsWithheld = 0)
    {
        Execute(connection, transaction,
            "INSERT INTO peer_counters (peer, envelopes_sent, indicators_sent, envelopes_received, indicators_received, indicators_withheld) " +
            "VALUES (@p, @es, @is, @er, @ir, @iw) ON CONFLICT(peer) DO UPDATE SET " +
            "envelopes_sent = peer_counters.envelopes_sent + excluded.envelopes_sent, indicators_sent = peer_counters.indicators_sent + excluded.indicators_sent, " +
            "envelopes_received = peer_counters.envelopes_received + excluded.envelopes_received, indicators_received = peer_counters.indicators_received + excluded.indicators_received, " +
            "indicators_withheld = peer_counters.indicators_withheld + excluded.indicators_withheld",
            ("@p", peer), ("@es", envelopesSent), ("@is", indicatorsSent), ("@er", envelopesReceived), ("@ir", indicatorsReceived), ("@iw", indicatorsWithheld));
    }

    /// <summary>
    /// Removes an envelope the peer acknowledged and, in the same transaction, counts it as sent when
    /// <paramref name="delivered"/> (accepted or duplicate). False when it was not there (then nothing is counted).
    /// </summary>
    public async Task<bool> CompleteDeliveryAsync(string peer, ReadOnlyMemory<byte> envelopeId, int indicatorCount, bool delivered, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        CheckId(envelopeId, nameof(envelopeId));
        var id = envelopeId.ToArray();
        var removed = await WriteAsync(
            (connection, transaction) =>
            {
                var rows = Execute(connection, transaction, "DELETE FROM outbox WHERE peer = @peer AND envelope_id = @id", ("@peer", peer), ("@id", id));
                if (rows > 0 && delivered)
                {
                    CountPeer(connection, transaction, peer, envelopesSent: 1, indicatorsSent: indicatorCount);
                }

                return rows;
            },
            ct).ConfigureAwait(false);
        return removed > 0;
    }

    /// <summary>Every peer's persisted counters.</summary>
    public async Task<IReadOnlyList<PeerCountersRow>> ReadPeerCountersAsync(CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT peer, envelopes_sent, indicators_sent, envelopes_received, indicators_received, indicators_withheld FROM peer_counters ORDER BY peer";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<PeerCountersRow>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new PeerCountersRow
            {
                Peer = reader.GetString(0),
                EnvelopesSent = reader.GetInt64(1),
                IndicatorsSent = reader.GetInt64(2),
                EnvelopesReceived = reader.GetInt64(3),
                IndicatorsReceived = reader.GetInt64(4),
                IndicatorsWithheld = reader.GetInt64(5),
            });
        }

        return rows;
    }
}
