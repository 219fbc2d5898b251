using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>Result of committing a sighting report this node forwards (or withholds) on its way back to the origin.</summary>
internal enum ForwardCommit
{
    /// <summary>Recorded now, and queued for the next hop unless it was withheld.</summary>
    Recorded,

    /// <summary>The envelope id was committed before: nothing changed.</summary>
    DuplicateEnvelope,

    /// <summary>This reporter's report id was forwarded or withheld here before (a replay): nothing changed but the audit.</summary>
    AlreadyForwarded,
}

/// <summary>The relay-path side of sightings back: where relayed indicators came from, and reports forwarded for others.</summary>
internal sealed partial class GatewayStore : ISightingsStore
{
    /// <summary>
    /// Peers that relayed <paramref name="indicatorId"/> of <paramref name="origin"/> to this node, first arrival first
    /// (empty when it came from the origin itself or not at all).
    /// </summary>
    public Task<IReadOnlyList<string>> ReadReceivedFromAsync(string indicatorId, string origin, CancellationToken ct) =>
        ReadPathPeersAsync("SELECT peer FROM received_from WHERE id_key = @key AND origin = @origin ORDER BY received_at, peer", indicatorId, origin, ct);

    /// <summary>
    /// Commits a sighting report received for another node, in one transaction: the envelope id (replay store), the
    /// report as handled here (once per reporter and report id), the copy for the next hop
    /// (<paramref name="forward"/>; null when it is withheld) and the audit.
    /// </summary>
    public Task<ForwardCommit> CommitForwardedSightingsAsync(ReadOnlyMemory<byte> envelopeId, string sender, string reporter, byte[] reportId,
        OutboxItem? forward, IReadOnlyList<AuditEntry> audit, DateTimeOffset now, CancellationToken ct)
    {
        CheckId(envelopeId, nameof(envelopeId));
        ArgumentException.ThrowIfNullOrEmpty(sender);
        ArgumentException.ThrowIfNullOrEmpty(reporter);
        ArgumentNullException.ThrowIfNull(reportId);
        ArgumentNullException.ThrowIfNull(audit);
        var id = envelopeId.ToArray();
        return WriteAsync(
            (connection, transaction) =>
            {
                if (!InsertSeenEnvelope(connection, transaction, id, sender, now))
                {
                    return ForwardCommit.DuplicateEnvelope;
                }

                if (Execute(connection, transaction,
                    "INSERT INTO sightings_forwarded (reporter, report_id, sender, forwarded_to, recorded_at) VALUES (@reporter, @report, @sender, @to, @now) " +
                    "ON CONFLICT (reporter, report_id) DO NOTHING",
                    ("@reporter", reporter), ("@report", reportId), ("@sender", sender), ("@to", (object?)forward?.Peer ?? DBNull.Value), ("@now", UnixTime.ToMs(now))) == 0)
                {
                    Audit.AppendInTransaction(connection, transaction,
                        [DroppedReport(sender, reportId, "sighting-report-already-forwarded: this report of " + reporter + " was handled here before (a replay)")]);
                    return ForwardCommit.AlreadyForwarded;
                }

                if (forward is not null)
                {
                    InsertOutbox(connection, transaction, [forward]);
                }

                Audit.AppendInTransaction(connection, transaction, audit);
                return ForwardCommit.Recorded;
            },
            ct);
    }

    /// <summary>The audit entry of a sighting report dropped as seen before.</summary>
    private static AuditEntry DroppedReport(string actor, byte[] reportId, string reason) => new()
    {
        Kind = AuditKinds.Sighting,
        Actor = actor,
        Subject = "report:" + Convert.ToHexStringLower(reportId),
        Decision = "dropped",
        Reason = reason,
    };

    private static object? Scalar(DbConnection connection, DbTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return command.ExecuteScalar();
    }
}
