using System.Data;
using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>A withdrawal as recorded at a node: by which origin, why, when, and from which sender it arrived.</summary>
internal sealed record WithdrawalRecord(string Origin, string IndicatorId, byte[] WithdrawalId, string Reason, DateTimeOffset WithdrawnAt, DateTimeOffset RecordedAt, string Sender);

/// <summary>A local suppression of an indicator.</summary>
internal sealed record SuppressionRecord(string IndicatorId, string Reason, DateTimeOffset SuppressedAt);

/// <summary>Aggregated sightings of one indicator reported by one peer (sum over its reports).</summary>
internal sealed record ReceivedSightings(string Reporter, long Count, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, IReadOnlyList<string> Sectors, int Reports);

/// <summary>A total of own sightings reported to an origin.</summary>
internal sealed record ReportedSightings(string IndicatorId, string Origin, long Total);

/// <summary>One entry of a sighting report as received.</summary>
internal sealed record ReceivedSightingEntry(string IndicatorId, long Count, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, IReadOnlyList<string> Sectors);

/// <summary>Result of committing a sighting report received at its origin.</summary>
internal enum SightingsCommit
{
    /// <summary>Stored now.</summary>
    Recorded,

    /// <summary>The envelope id was committed before: nothing changed.</summary>
    DuplicateEnvelope,

    /// <summary>This reporter's report id was stored before (a replay in a new envelope, or a second path): nothing added.</summary>
    AlreadyRecorded,
}

/// <summary>Result of committing a received withdrawal.</summary>
internal enum WithdrawalCommit
{
    /// <summary>Recorded now; its relays (if any) were queued in the same transaction.</summary>
    Applied,

    /// <summary>The envelope id was committed before: nothing changed.</summary>
    DuplicateEnvelope,

    /// <summary>This origin's withdrawal of the indicator was recorded before (another path, or a replay): nothing changed.</summary>
    AlreadyWithdrawn,
}

/// <summary>The lifecycle side of the store: deliveries, withdrawals, suppressions and sightings.</summary>
internal sealed partial class GatewayStore : ILifecycleStore
{
    /// <summary>
    /// Records an own withdrawal (this node is the origin) with its sealed-later deliveries and audit, in one
    /// transaction. False when this origin had already withdrawn the indicator (nothing written).
    /// </summary>
    public Task<bool> CommitOwnWithdrawalAsync(WithdrawalRecord withdrawal, IReadOnlyList<OutboxItem> outbox, IReadOnlyList<AuditEntry> audit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(withdrawal);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            (connection, transaction) =>
            {
                if (!InsertWithdrawal(connection, transaction, withdrawal))
                {
                    return false;
                }

                InsertOutbox(connection, transaction, outbox);
                Audit.AppendInTransaction(connection, transaction, audit);
                return true;
            },
            ct);
    }

    /// <summary>
    /// Commits a withdrawal received in envelope <paramref name="envelopeId"/>: the envelope id (replay store), the
    /// withdrawal (once per origin and indicator), and relays to <paramref name="relay"/> for every peer that got the
    /// indicator of this origin from this node (<see cref="OutboxItem.IndicatorIds"/> deliveries) and that
    /// <paramref name="mayRelayTo"/> admits, with the audit — all in one transaction, so a withdrawal is relayed once.
    /// </summary>
    public Task<(WithdrawalCommit Result, IReadOnlyList<string> RelayedTo)> CommitReceivedWithdrawalAsync(ReadOnlyMemory<byte> envelopeId, WithdrawalRecord withdrawal,
        Func<string, OutboxItem?> relay, IReadOnlyList<AuditEntry> audit, CancellationToken ct)
    {
        CheckId(envelopeId, nameof(envelopeId));
        ArgumentNullException.ThrowIfNull(withdrawal);
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(audit);
        var id = envelopeId.ToArray();
        return WriteAsync<(WithdrawalCommit, IReadOnlyList<string>)>(
            (connection, transaction) =>
            {
                if (!InsertSeenEnvelope(connection, transaction, id, withdrawal.Sender, withdrawal.RecordedAt))
                {
                    return (WithdrawalCommit.DuplicateEnvelope, []);
                }

                if (!InsertWithdrawal(connection, transaction, withdrawal))
                {
                    Audit.AppendInTransaction(connection, transaction,
                    [
                        new AuditEntry
                        {
                            Kind = AuditKinds.Withdrawn,
                            Actor = withdrawal.Sender,
                            Subject = withdrawal.IndicatorId,
                            Decision = "dropped",
                            Reason = $"withdrawal-already-applied: {withdrawal.Origin} had already withdrawn it (another path, or a replay)",
                        },
                    ]);
                    return (WithdrawalCommit.AlreadyWithdrawn, []);
                }

                var relays = new List<OutboxItem>();
                var relayAudit = new List<AuditEntry>(audit);
                foreach (var peer in DeliveredPeers(connection, transaction, withdrawal.IndicatorId, withdrawal.Origin))
                {
                    if (relay(peer) is { } item)
                    {
                        relays.Add(item);
                        relayAudit.Add(new AuditEntry
                        {
                            Kind = AuditKinds.Withdrawn,
                            Actor = withdrawal.Sender,
                            Subject = withdrawal.IndicatorId,
                            Decision = "withdrawal-relayed",
                            Reason = $"to {peer}: it got the indicator of {withdrawal.Origin} from this node, hop {item.HopCount}",
                        });
                    }
                }

                InsertOutbox(connection, transaction, relays);
                Audit.AppendInTransaction(connection, transaction, relayAudit);
                return (WithdrawalCommit.Applied, [.. relays.Select(r => r.Peer)]);
            },
            ct);
    }

    /// <summary>Peers that got <paramref name="indicatorId"/> of <paramref name="origin"/> from this node, in name order.</summary>
    public Task<IReadOnlyList<string>> ReadDeliveredPeersAsync(string indicatorId, string origin, CancellationToken ct) =>
        ReadPathPeersAsync(DeliveredPeersSql, indicatorId, origin, ct);

    /// <summary>The peers that got one indicator (<c>@key</c>) of one origin from this node, in name order.</summary>
    private const string DeliveredPeersSql =
        "SELECT d.peer FROM indicators i JOIN deliveries d ON d.rid = i.rid WHERE i.id_key = @key AND d.origin = @origin ORDER BY d.peer";

    /// <summary>The peers a path query (<c>deliveries</c> or <c>received_from</c>) names for one indicator of one origin.</summary>
    private async Task<IReadOnlyList<string>> ReadPathPeersAsync(string sql, string indicatorId, string origin, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(indicatorId);
        ArgumentException.ThrowIfNullOrEmpty(origin);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@key", StoreDialect.Of(connection).Key(indicatorId));
        command.Parameters.AddWithValue("@origin", origin);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var peers = new List<string>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            peers.Add(reader.GetString(0));
        }

        return peers;
    }

    /// <summary>True when <paramref name="indicatorId"/> of <paramref name="origin"/> is held in quarantine here.</summary>
    public async Task<bool> IsQuarantinedFromAsync(string indicatorId, string origin, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(indicatorId);
        ArgumentException.ThrowIfNullOrEmpty(origin);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM quarantine WHERE indicator_id = @id AND origin = @origin LIMIT 1";
        command.Parameters.AddWithValue("@id", indicatorId);
        command.Parameters.AddWithValue("@origin", origin);
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    /// <summary>Every withdrawal recorded for <paramref name="indicatorId"/>, oldest first.</summary>
    public async Task<IReadOnlyList<WithdrawalRecord>> ReadWithdrawalsAsync(string indicatorId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(indicatorId);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT origin, indicator_id, withdrawal_id, reason, withdrawn_at, recorded_at, sender FROM withdrawals WHERE indicator_id = @id ORDER BY recorded_at, origin";
        command.Parameters.AddWithValue("@id", indicatorId);
        return await ReadWithdrawalRowsAsync(command, ct).ConfigureAwait(false);
    }

    /// <summary>Every withdrawal recorded at this node (exports: an indicator is small in number of withdrawals).</summary>
    public async Task<IReadOnlyDictionary<string, List<WithdrawalRecord>>> ReadAllWithdrawalsAsync(CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT origin, indicator_id, withdrawal_id, reason, withdrawn_at, recorded_at, sender FROM withdrawals ORDER BY recorded_at, origin";
        var all = new Dictionary<string, List<WithdrawalRecord>>(StringComparer.Ordinal);
        foreach (var row in await ReadWithdrawalRowsAsync(command, ct).ConfigureAwait(false))
        {
            if (!all.TryGetValue(row.IndicatorId, out var list))
            {
                all[row.IndicatorId] = list = [];
            }

            list.Add(row);
        }

        return all;
    }

    /// <summary>Ids of the indicators <paramref name="origin"/> has withdrawn (the dispatcher never originates them again).</summary>
    public async Task<IReadOnlySet<string>> ReadWithdrawnByAsync(string origin, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(origin);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT indicator_id FROM withdrawals WHERE origin = @origin";
        command.Parameters.AddWithValue("@origin", origin);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Suppresses an indicator locally, audited in the same transaction. False when it was suppressed already.</summary>
    public Task<bool> SuppressAsync(SuppressionRecord suppression, AuditEntry audit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            (connection, transaction) =>
            {
                var inserted = Execute(connection, transaction,
                    "INSERT INTO suppressions (indicator_id, reason, suppressed_at) VALUES (@id, @reason, @at) ON CONFLICT (indicator_id) DO NOTHING",
                    ("@id", suppression.IndicatorId), ("@reason", suppression.Reason), ("@at", UnixTime.ToMs(suppression.SuppressedAt))) > 0;
                if (inserted)
                {
                    Audit.AppendInTransaction(connection, transaction, [audit]);
                }

                return inserted;
            },
            ct);
    }

    /// <summary>The local suppression of <paramref name="indicatorId"/>, or null.</summary>
    public async Task<SuppressionRecord?> ReadSuppressionAsync(string indicatorId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(indicatorId);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT reason, suppressed_at FROM suppressions WHERE indicator_id = @id";
        command.Parameters.AddWithValue("@id", indicatorId);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false)
            ? new SuppressionRecord(indicatorId, reader.GetString(0), UnixTime.FromMs(reader.GetInt64(1)))
            : null;
    }

    /// <summary>Every local suppression, by indicator id.</summary>
    public async Task<IReadOnlyDictionary<string, SuppressionRecord>> ReadSuppressionsAsync(CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT indicator_id, reason, suppressed_at FROM suppressions";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var all = new Dictionary<string, SuppressionRecord>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var id = reader.GetString(0);
            all[id] = new SuppressionRecord(id, reader.GetString(1), UnixTime.FromMs(reader.GetInt64(2)));
        }

        return all;
    }

    /// <summary>
    /// Deletes every indicator whose valid_until is before <paramref name="cutoff"/> (expired longer than the
    /// retention), with its delivery records, embargoes, suppression and received sightings; withdrawals stay (they
    /// are small and keep a withdrawn indicator from being taken for new). Scans the table in pages of
    /// <paramref name="pageSize"/> rows (valid_until lives in the record), deleting each page's expired rows in one
    /// transaction that checks the row again, so an indicator refreshed meanwhile is kept. The caller audits the result.
    /// Returns the ids deleted.
    /// </summary>
    public async Task<IReadOnlyList<string>> PruneExpiredAsync(DateTimeOffset cutoff, CancellationToken ct, int pageSize = 5000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageSize);
        var pruned = new List<string>();
        long after = 0;
        while (true)
        {
            var candidates = new List<long>();
            var scanned = 0;
            await using (var connection = _db.OpenReader())
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT rid, blob FROM indicators WHERE rid > @after ORDER BY rid LIMIT @limit";
                command.Parameters.AddWithValue("@after", after);
                command.Parameters.AddWithValue("@limit", pageSize);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    scanned++;
                    after = reader.GetInt64(0);
                    if (ExpiredBefore(reader.GetFieldValue<byte[]>(1), cutoff))
                    {
                        candidates.Add(after);
                    }
                }
            }

            if (candidates.Count > 0)
            {
                pruned.AddRange(await WriteAsync((connection, transaction) => DeleteExpired(connection, transaction, candidates, cutoff), ct).ConfigureAwait(false));
            }

            if (scanned < pageSize)
            {
                return pruned;
            }
        }
    }

    private static bool ExpiredBefore(byte[] blob, DateTimeOffset cutoff)
    {
        var indicator = Contracts.V1.Indicator.Parser.ParseFrom(blob);
        return indicator.ValidUntil is { } until && until.ToDateTimeOffset() < cutoff;
    }

    private static List<string> DeleteExpired(DbConnection connection, DbTransaction transaction, List<long> rowIds, DateTimeOffset cutoff)
    {
        var deleted = new List<string>();
        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT id, blob FROM indicators WHERE rid = @rid";
        var pRid = select.Parameters.Add("@rid", DbType.Int64);
        foreach (var rid in rowIds)
        {
            pRid.Value = rid;
            string id;
            using (var reader = select.ExecuteReader())
            {
                if (!reader.Read() || !ExpiredBefore(reader.GetFieldValue<byte[]>(1), cutoff))
                {
                    continue;
                }

                id = reader.GetString(0);
            }

            Execute(connection, transaction, "DELETE FROM indicators WHERE rid = @rid", ("@rid", rid));
            Execute(connection, transaction, "DELETE FROM deliveries WHERE rid = @rid", ("@rid", rid));
            Execute(connection, transaction, "DELETE FROM received_from WHERE id_key = @key", ("@key", StoreDialect.Of(connection).Key(id)));
            Execute(connection, transaction, "DELETE FROM embargo WHERE indicator_id = @id", ("@id", id));
            Execute(connection, transaction, "DELETE FROM suppressions WHERE indicator_id = @id", ("@id", id));
            Execute(connection, transaction, "DELETE FROM sightings_received WHERE indicator_id = @id", ("@id", id));
            Execute(connection, transaction, "DELETE FROM sightings_reported WHERE indicator_id = @id", ("@id", id));
            deleted.Add(id);
        }

        return deleted;
    }

    /// <summary>The change-feed cursor of the sightings reporter (a row of peer_cursors under a name no peer id can have).</summary>
    public const string SightingsCursor = "lifecycle:sightings-back";

    /// <summary>Own sightings of <paramref name="indicatorId"/> already reported, per origin.</summary>
    public async Task<IReadOnlyDictionary<string, long>> ReadReportedSightingsAsync(string indicatorId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(indicatorId);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT origin, count FROM sightings_reported WHERE indicator_id = @id";
        command.Parameters.AddWithValue("@id", indicatorId);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var reported = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            reported[reader.GetString(0)] = reader.GetInt64(1);
        }

        return reported;
    }

    /// <summary>
    /// Commits one reporting pass in one transaction: the reports into the origins' outboxes, the totals now reported,
    /// the advanced cursor and the audit. A crash neither loses nor repeats a report.
    /// </summary>
    public Task<bool> CommitSightingsReportsAsync(long cursor, IReadOnlyList<OutboxItem> outbox, IReadOnlyList<ReportedSightings> reported,
        IReadOnlyList<AuditEntry> audit, DateTimeOffset now, CancellationToken ct, long? expectedCursor = null)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(reported);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            (connection, transaction) =>
            {
                // Another gateway process sharing the database (PostgreSQL) reported this page first: nothing twice.
                if (expectedCursor is { } expected && StoredCursor(connection, transaction, SightingsCursor) != expected)
                {
                    return false;
                }

                InsertOutbox(connection, transaction, outbox);
                foreach (var item in reported)
                {
                    Execute(connection, transaction,
                        "INSERT INTO sightings_reported (indicator_id, origin, count, reported_at) VALUES (@id, @origin, @count, @now) " +
                        "ON CONFLICT (indicator_id, origin) DO UPDATE SET count = excluded.count, reported_at = excluded.reported_at",
                        ("@id", item.IndicatorId), ("@origin", item.Origin), ("@count", item.Total), ("@now", UnixTime.ToMs(now)));
                }

                Execute(connection, transaction,
                    "INSERT INTO peer_cursors (peer, seq) VALUES (@peer, @seq) ON CONFLICT (peer) DO UPDATE SET seq = CASE WHEN excluded.seq > peer_cursors.seq THEN excluded.seq ELSE peer_cursors.seq END",
                    ("@peer", SightingsCursor), ("@seq", cursor));
                Audit.AppendInTransaction(connection, transaction, audit);
                return true;
            },
            ct);
    }

    /// <summary>
    /// Commits a received sighting report: the envelope id (<see cref="SightingsCommit.DuplicateEnvelope"/> when it was
    /// committed before: nothing changes), one row per entry and the audit. A report id of this reporter stored before
    /// (a replay in a new envelope, or a second path) adds nothing: <see cref="SightingsCommit.AlreadyRecorded"/>, audited.
    /// </summary>
    public Task<SightingsCommit> CommitReceivedSightingsAsync(ReadOnlyMemory<byte> envelopeId, string reporter, byte[] reportId, IReadOnlyList<ReceivedSightingEntry> entries,
        IReadOnlyList<AuditEntry> audit, DateTimeOffset now, CancellationToken ct)
    {
        CheckId(envelopeId, nameof(envelopeId));
        ArgumentException.ThrowIfNullOrEmpty(reporter);
        ArgumentNullException.ThrowIfNull(reportId);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(audit);
        var id = envelopeId.ToArray();
        return WriteAsync(
            (connection, transaction) =>
            {
                if (!InsertSeenEnvelope(connection, transaction, id, reporter, now))
                {
                    return SightingsCommit.DuplicateEnvelope;
                }

                if (entries.Count > 0 && Scalar(connection, transaction,
                    "SELECT 1 FROM sightings_received WHERE indicator_id = @id AND reporter = @reporter AND report_id = @report",
                    ("@id", entries[0].IndicatorId), ("@reporter", reporter), ("@report", reportId)) is not null)
                {
                    Audit.AppendInTransaction(connection, transaction,
                        [DroppedReport(reporter, reportId, "sighting-report-already-received: this report of " + reporter + " was stored before (a replay, or a second path)")]);
                    return SightingsCommit.AlreadyRecorded;
                }

                foreach (var entry in entries)
                {
                    Execute(connection, transaction,
                        "INSERT INTO sightings_received (indicator_id, reporter, report_id, count, first_seen, last_seen, sectors, received_at) " +
                        "VALUES (@id, @reporter, @report, @count, @first, @last, @sectors, @now) ON CONFLICT DO NOTHING",
                        ("@id", entry.IndicatorId), ("@reporter", reporter), ("@report", reportId), ("@count", entry.Count),
                        ("@first", UnixTime.ToMs(entry.FirstSeen)), ("@last", UnixTime.ToMs(entry.LastSeen)), ("@sectors", string.Join(",", entry.Sectors)),
                        ("@now", UnixTime.ToMs(now)));
                }

                Audit.AppendInTransaction(connection, transaction, audit);
                return SightingsCommit.Recorded;
            },
            ct);
    }

    /// <summary>The sightings peers reported for <paramref name="indicatorId"/>, summed per reporter, by reporter.</summary>
    public async Task<IReadOnlyList<ReceivedSightings>> ReadReceivedSightingsAsync(string indicatorId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(indicatorId);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT reporter, CAST(SUM(count) AS BIGINT), MIN(first_seen), MAX(last_seen), " + StoreDialect.Of(connection).JoinedWithCommas("sectors") + ", COUNT(*) FROM sightings_received " +
            "WHERE indicator_id = @id GROUP BY reporter ORDER BY reporter";
        command.Parameters.AddWithValue("@id", indicatorId);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var all = new List<ReceivedSightings>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var sectors = reader.IsDBNull(4) ? [] : reader.GetString(4).Split(',', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            all.Add(new ReceivedSightings(reader.GetString(0), reader.GetInt64(1), UnixTime.FromMs(reader.GetInt64(2)), UnixTime.FromMs(reader.GetInt64(3)), sectors, reader.GetInt32(5)));
        }

        return all;
    }

    private static async Task<List<WithdrawalRecord>> ReadWithdrawalRowsAsync(DbCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<WithdrawalRecord>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new WithdrawalRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetFieldValue<byte[]>(2),
                reader.GetString(3),
                UnixTime.FromMs(reader.GetInt64(4)),
                UnixTime.FromMs(reader.GetInt64(5)),
                reader.GetString(6)));
        }

        return rows;
    }

    /// <summary>
    /// Records a withdrawal (false when this origin had withdrawn it already) and moves the indicator's updated_at to
    /// the recording time: the revoked STIX object is a new version, and TAXII clients polling with added_after find it
    /// by that time.
    /// </summary>
    private static bool InsertWithdrawal(DbConnection connection, DbTransaction transaction, WithdrawalRecord withdrawal)
    {
        var recorded = UnixTime.ToMs(withdrawal.RecordedAt);
        if (Execute(connection, transaction,
            "INSERT INTO withdrawals (origin, indicator_id, withdrawal_id, reason, withdrawn_at, recorded_at, sender) " +
            "VALUES (@origin, @id, @wid, @reason, @at, @recorded, @sender) ON CONFLICT (origin, indicator_id) DO NOTHING",
            ("@origin", withdrawal.Origin), ("@id", withdrawal.IndicatorId), ("@wid", withdrawal.WithdrawalId), ("@reason", withdrawal.Reason),
            ("@at", UnixTime.ToMs(withdrawal.WithdrawnAt)), ("@recorded", recorded), ("@sender", withdrawal.Sender)) == 0)
        {
            return false;
        }

        Execute(connection, transaction, "UPDATE indicators SET updated_at = CASE WHEN @recorded > updated_at THEN @recorded ELSE updated_at END WHERE id_key = @key",
            ("@recorded", recorded), ("@key", StoreDialect.Of(connection).Key(withdrawal.IndicatorId)));
        return true;
    }

    private static bool InsertSeenEnvelope(DbConnection connection, DbTransaction transaction, byte[] envelopeId, string sender, DateTimeOffset now) =>
        Execute(connection, transaction,
            "INSERT INTO seen_envelopes (envelope_id, sender, received_at) VALUES (@id, @sender, @now) ON CONFLICT (envelope_id) DO NOTHING",
            ("@id", envelopeId), ("@sender", sender), ("@now", UnixTime.ToMs(now))) > 0;

    private static List<string> DeliveredPeers(DbConnection connection, DbTransaction transaction, string indicatorId, string origin)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = DeliveredPeersSql;
        command.Parameters.AddWithValue("@key", StoreDialect.Of(connection).Key(indicatorId));
        command.Parameters.AddWithValue("@origin", origin);
        using var reader = command.ExecuteReader();
        var peers = new List<string>();
        while (reader.Read())
        {
            peers.Add(reader.GetString(0));
        }

        return peers;
    }

    /// <summary>
    /// The prepared insert of <c>received_from</c> rows (which peer relayed an indicator of an origin to this node), reused
    /// for every item of one transaction. Keyed by the indicator's id: quarantined indicators, which have no row in
    /// <c>indicators</c>, get a path too.
    /// </summary>
    private sealed class ReceivedFromCommand(DbConnection connection, DbTransaction transaction) : IDisposable
    {
        private PathStatement? _insert;

        /// <summary>Records that <paramref name="peer"/> relayed each of <paramref name="ids"/> of <paramref name="origin"/> here.</summary>
        public void Record(IReadOnlyList<string> ids, string origin, string peer, DateTimeOffset at)
        {
            _insert ??= new PathStatement(connection, transaction,
                "INSERT INTO received_from (id_key, origin, peer, received_at) VALUES (@key, @origin, @peer, @at) ON CONFLICT DO NOTHING");
            var atMs = UnixTime.ToMs(at);
            foreach (var id in ids)
            {
                _insert.Run(StoreDialect.Of(connection).Key(id), null, origin, peer, atMs);
            }
        }

        public void Dispose() => _insert?.Dispose();
    }

    /// <summary>
    /// The prepared inserts of <c>deliveries</c> rows (which peer got an indicator of an origin from this node), reused
    /// for every item of one transaction. A row is keyed by the indicator's row id (schema 15: rows of new indicators
    /// append at the table's right edge instead of landing on a random page of the id order) and is written only while
    /// that row holds the indicator: SQLite may give a deleted row's id to the next new row, so a path must never outlive
    /// its indicator row (expiry deletes both in one transaction). A row id the caller read before this transaction (the
    /// change feed) is checked against the indicator's key; without one, or when the check finds another row (the
    /// indicator expired and came back meanwhile), the row id is looked up by the key. On PostgreSQL every item is one
    /// statement over all its ids (their keys looked up on the server), not one round trip per indicator.
    /// </summary>
    private sealed class DeliveryCommand(DbConnection connection, DbTransaction transaction) : IDisposable
    {
        private const string Insert = "INSERT INTO deliveries (rid, origin, peer, delivered_at) SELECT rid, @origin, @peer, @at FROM indicators WHERE ";
        private PathStatement? _byRowId;
        private PathStatement? _byKey;
        private Npgsql.NpgsqlCommand? _byKeys;

        /// <summary>
        /// Records that <paramref name="peer"/> got each of <paramref name="ids"/> of <paramref name="origin"/>; their row
        /// ids from <paramref name="rowIds"/> (index for index) or else <paramref name="rowIdOf"/>, when given (0: not known).
        /// </summary>
        public void Record(IReadOnlyList<string> ids, IReadOnlyList<long>? rowIds, Func<string, long>? rowIdOf, string origin, string peer, DateTimeOffset at)
        {
            var atMs = UnixTime.ToMs(at);
            if (connection is Npgsql.NpgsqlConnection postgres)
            {
                RecordMany(postgres, ids, origin, peer, atMs);
                return;
            }

            for (var i = 0; i < ids.Count; i++)
            {
                var key = StoreDialect.Of(connection).Key(ids[i]);
                var rowId = rowIds?[i] ?? rowIdOf?.Invoke(ids[i]) ?? 0;
                // 0 rows: already recorded (a re-shared indicator) or the row id no longer holds this indicator; only
                // the second needs the lookup by key, but telling them apart would cost a read too.
                if (rowId > 0 && (_byRowId ??= new PathStatement(connection, transaction, Insert + "rid = @rid AND id_key = @key ON CONFLICT DO NOTHING")).Run(key, rowId, origin, peer, atMs) > 0)
                {
                    continue;
                }

                (_byKey ??= new PathStatement(connection, transaction, Insert + "id_key = @key ON CONFLICT DO NOTHING")).Run(key, null, origin, peer, atMs);
            }
        }

        /// <summary>PostgreSQL: the rows of all <paramref name="ids"/> in one statement (the id is the key there).</summary>
        private void RecordMany(Npgsql.NpgsqlConnection postgres, IReadOnlyList<string> ids, string origin, string peer, long at)
        {
            if (_byKeys is null)
            {
                _byKeys = new Npgsql.NpgsqlCommand(Insert + "id_key = ANY(@keys) ON CONFLICT DO NOTHING", postgres, (Npgsql.NpgsqlTransaction)transaction);
                _byKeys.Parameters.Add(new Npgsql.NpgsqlParameter("keys", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text));
                _byKeys.Parameters.Add(new Npgsql.NpgsqlParameter<string>("origin", NpgsqlTypes.NpgsqlDbType.Text));
                _byKeys.Parameters.Add(new Npgsql.NpgsqlParameter<string>("peer", NpgsqlTypes.NpgsqlDbType.Text));
                _byKeys.Parameters.Add(new Npgsql.NpgsqlParameter<long>("at", NpgsqlTypes.NpgsqlDbType.Bigint));
            }

            _byKeys.Parameters[0].Value = ids as string[] ?? [.. ids];
            _byKeys.Parameters[1].Value = origin;
            _byKeys.Parameters[2].Value = peer;
            _byKeys.Parameters[3].Value = at;
            _byKeys.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _byRowId?.Dispose();
            _byKey?.Dispose();
            _byKeys?.Dispose();
        }
    }

    /// <summary>
    /// One prepared insert of path rows (<c>deliveries</c>, <c>received_from</c>): parameters <c>@key</c> (the indicator's
    /// key), <c>@rid</c> when the statement names it, <c>@origin</c>, <c>@peer</c>, <c>@at</c>.
    /// </summary>
    private sealed class PathStatement : IDisposable
    {
        private readonly DbCommand _command;
        private readonly DbParameter _key;
        private readonly DbParameter? _rowId;
        private readonly DbParameter _origin;
        private readonly DbParameter _peer;
        private readonly DbParameter _at;

        public PathStatement(DbConnection connection, DbTransaction transaction, string sql)
        {
            _command = connection.CreateCommand();
            _command.Transaction = transaction;
            _command.CommandText = sql;
            // No declared type: the key binds as a BLOB (canonical UUID) or TEXT (anything else), see IndicatorKey.
            _key = _command.Parameters.AddUntyped("@key");
            _rowId = sql.Contains("@rid", StringComparison.Ordinal) ? _command.Parameters.Add("@rid", DbType.Int64) : null;
            _origin = _command.Parameters.Add("@origin", DbType.String);
            _peer = _command.Parameters.Add("@peer", DbType.String);
            _at = _command.Parameters.Add("@at", DbType.Int64);
            _command.Prepare();
        }

        public int Run(object key, long? rowId, string origin, string peer, long at)
        {
            _key.Value = key;
            if (_rowId is not null)
            {
                _rowId.Value = rowId;
            }

            _origin.Value = origin;
            _peer.Value = peer;
            _at.Value = at;
            return _command.ExecuteNonQuery();
        }

        public void Dispose() => _command.Dispose();
    }
}
