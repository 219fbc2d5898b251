using System.Runtime.CompilerServices;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf;
using System.Data;
using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The gateway's durable state in one SQLite file: indicators (protobuf blob plus indexed columns), committed agent
/// batches, the envelope replay store and bundle loop-prevention keys, quarantine, per-peer outbox, embargo queue
/// and the audit log.
/// </summary>
/// <remarks>
/// Concurrency: one writer connection owned by the database's writer loop; every write method queues its work there
/// and writes that arrive together share one transaction (group commit, see <see cref="SqliteDatabase"/>), each
/// inside its own savepoint, so one failing write never takes the others down; prepared statements are reused for
/// every row of a write. Readers use pooled connections and run concurrently with the writer (WAL). Durability: see
/// <see cref="StoreOptions.DurableAgainstPowerLoss"/>; every method returns only after the transaction holding its
/// write committed, so a caller may ack once the task completes. All methods are thread-safe.
/// </remarks>
internal sealed partial class GatewayStore : IStoreHealth, IIndicatorStore, IIngestStore, IReceiveStore, IOutboxStore, IEmbargoStore, IQuarantineStore, IAsyncDisposable
{
    /// <summary>Largest batch or envelope id accepted (the protocol recommends 16 bytes).</summary>
    public const int MaxIdBytes = 64;

    // Lookups by id go through the unique index on its binary form (IndicatorKey, schema version 6).
    private const string SelectBlobSql = "SELECT blob FROM indicators WHERE id_key = @key";

    private const string SelectRowSql = "SELECT rid, blob, own_state, own_blob FROM indicators WHERE id_key = @key";

    // local_seq moves only when this node's own agents change an indicator (the outbound change feed);
    // content received from peers keeps the indicator's local_seq as it was. own_state and own_blob: see OwnState.
    private const string InsertSql =
        "INSERT INTO indicators (id_key, id, type, value, tlp, confidence, updated_at, blob, local_seq, own_state) VALUES (@key, @id, @type, @value, @tlp, @confidence, @now, @blob, @seq, @own)";

    private const string UpdateSql =
        "UPDATE indicators SET tlp = @tlp, confidence = @confidence, updated_at = @now, blob = @blob, local_seq = COALESCE(@seq, local_seq), " +
        "own_state = @own, own_blob = @ownBlob WHERE rid = @rid";

    private readonly IStoreDatabase _db;
    private readonly TimeProvider _time;

    private GatewayStore(IStoreDatabase db, TimeProvider time)
    {
        _db = db;
        _time = time;
        Audit = new AuditLog(db, time);
    }

    /// <summary>The audit log kept in the same database.</summary>
    public AuditLog Audit { get; }

    /// <summary>The SQLite database (write and checkpoint counters for diagnostics and tests); null on PostgreSQL.</summary>
    internal SqliteDatabase? Database => _db as SqliteDatabase;

    /// <summary>Whether the PostgreSQL server is known to be unreachable now, why and since when; null on SQLite.</summary>
    public StoreOutageMonitor? Outage => (_db as PostgresDatabase)?.Outage;

    /// <summary>The engine under this store.</summary>
    internal IStoreDatabase Engine => _db;

    /// <summary>Full path of the SQLite database file, or the PostgreSQL server and database.</summary>
    public string Path => _db.Path;

    /// <summary>True when the store is in PostgreSQL.</summary>
    public bool IsPostgres => _db.Dialect.IsPostgres;

    /// <summary>Opens (creating the directory and file when needed) and migrates the database, with safe defaults.</summary>
    public static Task<GatewayStore> OpenAsync(string path, TimeProvider time, CancellationToken ct) =>
        OpenAsync(path, time, new StoreOptions(), ct);

    /// <summary>Opens and migrates the database with explicit options.</summary>
    public static Task<GatewayStore> OpenAsync(string path, TimeProvider time, StoreOptions options, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        ct.ThrowIfCancellationRequested();
        var db = SqliteDatabase.Open(path, options);
        return Task.FromResult(new GatewayStore(db, time));
    }

    /// <summary>
    /// Opens the store in PostgreSQL (<c>storage.postgres.connectionString</c>), creating or migrating its schema; several
    /// gateway processes of one nation may open the same database at once (see <see cref="PostgresDatabase"/>).
    /// </summary>
    public static async Task<GatewayStore> OpenPostgresAsync(string connectionString, TimeProvider time, PostgresStoreOptions options, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        var db = await PostgresDatabase.OpenAsync(connectionString, options, ct, time).ConfigureAwait(false);
        return new GatewayStore(db, time);
    }

    /// <summary>
    /// Commits one agent batch, idempotently: if (<paramref name="agentId"/>, <paramref name="batchId"/>) was committed
    /// before, returns the stored results with Duplicate = true and changes nothing. Otherwise, in one transaction
    /// (possibly shared with other writes: group commit), merges each valid item into the store (accumulating counts),
    /// records per-item results, audits every rejected item ("ingest-rejected"), and records the batch id. Completes
    /// only after the commit.
    /// </summary>
    public Task<IngestCommit> CommitIngestAsync(string agentId, ReadOnlyMemory<byte> batchId, IReadOnlyList<ValidationOutcome> items, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(agentId);
        CheckId(batchId, nameof(batchId));
        ArgumentNullException.ThrowIfNull(items);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is null)
            {
                throw new ArgumentException($"item {i} is null", nameof(items));
            }
        }

        var batchKey = batchId.ToArray();
        return _db.WriteAsync((connection, transaction) => CommitIngest(connection, transaction, agentId, batchKey, items), ct);
    }

    private IngestCommit CommitIngest(DbConnection connection, DbTransaction transaction, string agentId, byte[] batchKey, IReadOnlyList<ValidationOutcome> items)
    {
        using (var find = connection.CreateCommand())
        {
            find.Transaction = transaction;
            find.CommandText = "SELECT results FROM ingest_batches WHERE agent = @agent AND batch_id = @batch";
            find.Parameters.AddWithValue("@agent", agentId);
            find.Parameters.AddWithValue("@batch", batchKey);
            if (find.ExecuteScalar() is byte[] stored)
            {
                return new IngestCommit { Duplicate = true, Results = IngestResult.Parser.ParseFrom(stored).Items, Changed = [] };
            }
        }

        var now = _time.GetUtcNow();
        var results = new IngestResult { BatchId = ByteString.CopyFrom(batchKey) };
        var changed = new Dictionary<string, StoredIndicator>(items.Count, StringComparer.Ordinal);
        var audit = new List<AuditEntry>();
        long? localSeq = null;
        using (var indicators = IndicatorWrites(connection, transaction))
        {
            indicators.Load(items.Where(item => item.IsValid).Select(item => item.Indicator!.Id));
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                if (!item.IsValid)
                {
                    results.Items.Add(new ItemResult { Index = (uint)i, Outcome = ItemOutcome.Rejected, Reason = item.Error });
                    audit.Add(new AuditEntry
                    {
                        At = now,
                        Kind = AuditKinds.IngestRejected,
                        Actor = agentId,
                        Subject = "batch:" + Convert.ToHexStringLower(batchKey) + "#" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Decision = "rejected",
                        Reason = item.Error,
                    });
                    continue;
                }

                var incoming = item.Indicator;
                localSeq ??= NextLocalSeq(connection, transaction);
                var outcome = Apply(indicators, changed, incoming, received: false, now, ref localSeq);
                results.Items.Add(new ItemResult { Index = (uint)i, Outcome = outcome, IndicatorId = incoming.Id });
            }

            indicators.WriteChanged(changed.Values, now);
        }

        using (var record = connection.CreateCommand())
        {
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO ingest_batches (agent, batch_id, committed_at, results) VALUES (@agent, @batch, @now, @results)";
            record.Parameters.AddWithValue("@agent", agentId);
            record.Parameters.AddWithValue("@batch", batchKey);
            record.Parameters.AddWithValue("@now", UnixTime.ToMs(now));
            record.Parameters.AddWithValue("@results", results.ToByteArray());
            record.ExecuteNonQuery();
        }

        CountIngest(connection, transaction, agentId, now, results);
        Audit.AppendInTransaction(connection, transaction, audit);
        var changedIndicators = new Indicator[changed.Count];
        var n = 0;
        foreach (var stored in changed.Values)
        {
            changedIndicators[n++] = stored.Indicator;
        }

        return new IngestCommit { Duplicate = false, Results = results.Items, Changed = changedIndicators };
    }

    /// <summary>
    /// Commits one received envelope exactly once. In one transaction: if the envelope id was seen, returns
    /// Duplicate = true and changes nothing; otherwise records the envelope id, records (origin, bundle id), and — only
    /// when that bundle is new — merges the accepted indicators (latest-state merge, trust already applied), stores the
    /// quarantined ones and appends the caller's audit entries. A bundle that arrives a second time by another route
    /// is audited as dropped and reported with BundleAlreadySeen = true.
    /// </summary>
    public Task<ReceiveCommit> CommitReceivedAsync(ReceivedEnvelope envelope, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        CheckId(envelope.EnvelopeId, nameof(envelope));
        CheckId(envelope.BundleId, nameof(envelope));
        ArgumentException.ThrowIfNullOrEmpty(envelope.Sender, nameof(envelope));
        ArgumentException.ThrowIfNullOrEmpty(envelope.Origin, nameof(envelope));
        ArgumentNullException.ThrowIfNull(envelope.Accepted, nameof(envelope));
        ArgumentNullException.ThrowIfNull(envelope.Quarantined, nameof(envelope));
        ArgumentNullException.ThrowIfNull(envelope.Audit, nameof(envelope));

        return _db.WriteAsync((connection, transaction) => CommitReceived(connection, transaction, envelope), ct);
    }

    private ReceiveCommit CommitReceived(DbConnection connection, DbTransaction transaction, ReceivedEnvelope envelope)
    {
        var now = _time.GetUtcNow();
        var nowMs = UnixTime.ToMs(now);
        var envelopeId = envelope.EnvelopeId.ToArray();

        using (var seen = connection.CreateCommand())
        {
            seen.Transaction = transaction;
            seen.CommandText = "INSERT INTO seen_envelopes (envelope_id, sender, received_at, origin, bundle_id) VALUES (@id, @sender, @now, @origin, @bundle) " +
                "ON CONFLICT (envelope_id) DO NOTHING";
            seen.Parameters.AddWithValue("@id", envelopeId);
            seen.Parameters.AddWithValue("@sender", envelope.Sender);
            seen.Parameters.AddWithValue("@now", nowMs);
            seen.Parameters.AddWithValue("@origin", envelope.Origin);
            seen.Parameters.AddWithValue("@bundle", envelope.BundleId.ToArray());
            if (seen.ExecuteNonQuery() == 0)
            {
                // A twin committed first (pipelined copies): a duplicate only if it carried the same bundle.
                var first = ReadSeenEnvelope(connection, transaction, envelopeId);
                return new ReceiveCommit
                {
                    Duplicate = true,
                    EnvelopeIdReused = first is not null && !first.Carries(envelope.Origin, envelope.BundleId.Span),
                    BundleAlreadySeen = false,
                    Changed = [],
                };
            }
        }

        bool bundleSeen;
        using (var bundle = connection.CreateCommand())
        {
            bundle.Transaction = transaction;
            bundle.CommandText = "INSERT INTO seen_bundles (origin, bundle_id, received_at) VALUES (@origin, @bundle, @now) ON CONFLICT (origin, bundle_id) DO NOTHING";
            bundle.Parameters.AddWithValue("@origin", envelope.Origin);
            bundle.Parameters.AddWithValue("@bundle", envelope.BundleId.ToArray());
            bundle.Parameters.AddWithValue("@now", nowMs);
            bundleSeen = bundle.ExecuteNonQuery() == 0;
        }

        if (bundleSeen)
        {
            Audit.AppendInTransaction(connection, transaction,
            [
                new AuditEntry
                {
                    At = now,
                    Kind = AuditKinds.Received,
                    Actor = envelope.Sender,
                    Subject = "bundle:" + Convert.ToHexStringLower(envelope.BundleId.Span),
                    Decision = "dropped",
                    Reason = "bundle-already-seen",
                    DetailsJson = "{\"origin\":" + System.Text.Json.JsonSerializer.Serialize(envelope.Origin, StorageJsonContext.Default.String) + "}",
                },
            ]);
            return new ReceiveCommit { Duplicate = false, BundleAlreadySeen = true, Changed = [] };
        }

        var changed = new Dictionary<string, StoredIndicator>(StringComparer.Ordinal);
        foreach (var incoming in envelope.Accepted)
        {
            ArgumentNullException.ThrowIfNull(incoming, nameof(envelope));
            ArgumentException.ThrowIfNullOrEmpty(incoming.Id, nameof(envelope));
        }

        using (var indicators = IndicatorWrites(connection, transaction))
        {
            indicators.Load(envelope.Accepted.Select(incoming => incoming.Id));
            long? noLocalSeq = null; // content received from peers keeps the indicator's local_seq as it was
            foreach (var incoming in envelope.Accepted)
            {
                Apply(indicators, changed, incoming, received: true, now, ref noLocalSeq);
            }

            indicators.WriteChanged(changed.Values, now);
        }

        if (envelope.Quarantined.Count > 0)
        {
            using var quarantine = connection.CreateCommand();
            quarantine.Transaction = transaction;
            quarantine.CommandText =
                "INSERT INTO quarantine (indicator_id, sender, origin, envelope_id, received_at, reason, blob) " +
                "VALUES (@id, @sender, @origin, @envelope, @now, @reason, @blob)";
            var pId = quarantine.Parameters.Add("@id", DbType.String);
            quarantine.Parameters.AddWithValue("@sender", envelope.Sender);
            quarantine.Parameters.AddWithValue("@origin", envelope.Origin);
            quarantine.Parameters.AddWithValue("@envelope", envelopeId);
            quarantine.Parameters.AddWithValue("@now", nowMs);
            var pReason = quarantine.Parameters.Add("@reason", DbType.String);
            var pBlob = quarantine.Parameters.Add("@blob", DbType.Binary);
            quarantine.Prepare();
            foreach (var item in envelope.Quarantined)
            {
                ArgumentNullException.ThrowIfNull(item, nameof(envelope));
                pId.Value = item.Indicator.Id;
                pReason.Value = item.Reason;
                pBlob.Value = item.Indicator.ToByteArray();
                quarantine.ExecuteNonQuery();
            }
        }

        if (envelope.Sender != envelope.Origin)
        {
            // Relayed content: remember which peer relayed each indicator of this origin here, so sightings of it go back
            // along that path (docs/protocol.md §13.2).
            using var receivedFrom = new ReceivedFromCommand(connection, transaction);
            receivedFrom.Record([.. envelope.Accepted.Select(i => i.Id), .. envelope.Quarantined.Select(q => q.Indicator.Id)], envelope.Origin, envelope.Sender, now);
        }

        // Relays carry every indicator of the bundle, all accepted and so all in `changed` with their row ids.
        InsertOutbox(connection, transaction, envelope.Relays, id => changed.TryGetValue(id, out var stored) ? stored.RowId : 0);
        Audit.AppendInTransaction(connection, transaction, envelope.Audit);
        CountPeer(connection, transaction, envelope.Sender, envelopesReceived: 1, indicatorsReceived: envelope.Accepted.Count);
        return new ReceiveCommit
        {
            Duplicate = false,
            BundleAlreadySeen = false,
            Changed = [.. changed.Values.Select(c => c.Indicator)],
            QuarantinedCount = envelope.Quarantined.Count,
        };
    }

    /// <summary>True when an envelope with this id has been committed (replay check before opening it).</summary>
    public async Task<bool> HasSeenEnvelopeAsync(ReadOnlyMemory<byte> envelopeId, CancellationToken ct)
    {
        CheckId(envelopeId, nameof(envelopeId));
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM seen_envelopes WHERE envelope_id = @id";
        command.Parameters.AddWithValue("@id", envelopeId.ToArray());
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    /// <summary>
    /// The committed envelope with this id (and the bundle it carried), or null when none was committed (or it was
    /// pruned after the replay window).
    /// </summary>
    public async Task<SeenEnvelope?> FindSeenEnvelopeAsync(ReadOnlyMemory<byte> envelopeId, CancellationToken ct)
    {
        CheckId(envelopeId, nameof(envelopeId));
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT origin, bundle_id FROM seen_envelopes WHERE envelope_id = @id";
        command.Parameters.AddWithValue("@id", envelopeId.ToArray());
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? ToSeenEnvelope(reader) : null;
    }

    private static SeenEnvelope? ReadSeenEnvelope(DbConnection connection, DbTransaction transaction, byte[] envelopeId)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT origin, bundle_id FROM seen_envelopes WHERE envelope_id = @id";
        command.Parameters.AddWithValue("@id", envelopeId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ToSeenEnvelope(reader) : null;
    }

    private static SeenEnvelope ToSeenEnvelope(DbDataReader reader) => new(
        reader.IsDBNull(0) ? null : reader.GetString(0),
        reader.IsDBNull(1) ? null : (byte[])reader.GetValue(1));

    /// <summary>
    /// Forgets envelope ids and bundle keys received before <paramref name="olderThan"/> (outside the replay window,
    /// where the sent_at check rejects them anyway). Returns the number of envelope ids removed.
    /// </summary>
    public Task<int> PurgeSeenEnvelopesAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(
            (connection, transaction) =>
            {
                var cutoff = UnixTime.ToMs(olderThan);
                var removed = Execute(connection, transaction, "DELETE FROM seen_envelopes WHERE received_at < @cutoff", ("@cutoff", cutoff));
                Execute(connection, transaction, "DELETE FROM seen_bundles WHERE received_at < @cutoff", ("@cutoff", cutoff));
                return removed;
            },
            ct);

    /// <summary>Forgets agent batch ids committed before <paramref name="olderThan"/>. Returns the number removed.</summary>
    public Task<int> PurgeIngestBatchesAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        WriteAsync(
            (connection, transaction) => Execute(connection, transaction, "DELETE FROM ingest_batches WHERE committed_at < @cutoff", ("@cutoff", UnixTime.ToMs(olderThan))),
            ct);

    /// <summary>Appends envelopes to their peers' outboxes in one transaction (before any is sent).</summary>
    public async Task EnqueueOutboxAsync(IReadOnlyList<OutboxItem> items, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items)
        {
            ArgumentNullException.ThrowIfNull(item, nameof(items));
            ArgumentException.ThrowIfNullOrEmpty(item.Peer, nameof(items));
            CheckId(item.EnvelopeId, nameof(items));
            ArgumentNullException.ThrowIfNull(item.EnvelopeBytes, nameof(items));
            ArgumentOutOfRangeException.ThrowIfNegative(item.IndicatorCount, nameof(items));
        }

        await WriteAsync(
            (connection, transaction) =>
            {
                InsertOutbox(connection, transaction, items);
                return 0;
            },
            ct).ConfigureAwait(false);
    }

    /// <summary>Up to <paramref name="limit"/> outbox entries of <paramref name="peer"/> with seq &gt; <paramref name="afterSeq"/>, in seq order.</summary>
    public async Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string peer, long afterSeq, int limit, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (_db is PostgresDatabase postgres)
        {
            return await ClaimOutboxAsync(postgres, peer, afterSeq, limit, ct).ConfigureAwait(false);
        }

        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT seq, envelope_id, envelope, indicator_count, created_at, hop_count, payload_kind FROM outbox WHERE peer = @peer AND seq > @after ORDER BY seq LIMIT @limit";
        command.Parameters.AddWithValue("@peer", peer);
        command.Parameters.AddWithValue("@after", afterSeq);
        command.Parameters.AddWithValue("@limit", limit);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await ReadOutboxEntriesAsync(reader, peer, ct).ConfigureAwait(false);
    }

    /// <summary>The outbox rows of a reader (columns seq, envelope_id, envelope, indicator_count, created_at, hop_count, payload_kind), in seq order.</summary>
    private static async Task<List<OutboxEntry>> ReadOutboxEntriesAsync(DbDataReader reader, string peer, CancellationToken ct)
    {
        var entries = new List<OutboxEntry>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            entries.Add(new OutboxEntry(
                reader.GetInt64(0),
                peer,
                reader.GetFieldValue<byte[]>(1),
                reader.GetFieldValue<byte[]>(2),
                reader.GetInt32(3),
                UnixTime.FromMs(reader.GetInt64(4)),
                reader.GetInt32(5),
                (Contracts.V1.PayloadKind)reader.GetInt32(6)));
        }

        entries.Sort((a, b) => a.Seq.CompareTo(b.Seq)); // RETURNING (claims) gives no order
        return entries;
    }

    /// <summary>
    /// PostgreSQL, shared by several gateway processes: renews this process's unexpired claims on the peer's envelopes
    /// (except rows a write holds right now, e.g. an acknowledged one being deleted), then claims up to <paramref name="limit"/> more, in seq order: unclaimed ones, ones whose lease ran out (their
    /// process died or lost the peer), and this process's own after <paramref name="afterSeq"/> (a new session re-sends
    /// what the last one left unacknowledged). Rows another process is claiming right now are skipped
    /// (<c>FOR UPDATE SKIP LOCKED</c>), never waited for. Times are the server's clock, so processes on machines whose
    /// clocks differ agree on when a lease ends.
    /// </summary>
    private static async Task<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(PostgresDatabase postgres, string peer, long afterSeq, int limit, CancellationToken ct)
    {
        const string Now = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
        var leaseMs = (long)postgres.Options.OutboxLease.TotalMilliseconds;
        await using var connection = await postgres.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using (var renew = connection.CreateCommand())
        {
            // Rows locked by a write in progress (the writer deleting an acknowledged envelope) are skipped, not waited
            // for: waiting there while that write waits for a row this statement holds was a deadlock under load.
            renew.CommandText = $"UPDATE outbox SET lease_until = {Now} + @lease WHERE seq IN (" +
                $"SELECT seq FROM outbox WHERE peer = @peer AND claimed_by = @me AND lease_until >= {Now} ORDER BY seq FOR UPDATE SKIP LOCKED)";
            renew.Parameters.AddWithValue("lease", leaseMs);
            renew.Parameters.AddWithValue("peer", peer);
            renew.Parameters.AddWithValue("me", postgres.Instance);
            await renew.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await using var claim = connection.CreateCommand();
        claim.CommandText =
            $"UPDATE outbox SET claimed_by = @me, lease_until = {Now} + @lease WHERE seq IN (" +
            "SELECT seq FROM outbox WHERE peer = @peer " +
            $"AND (claimed_by IS NULL OR lease_until < {Now} OR (claimed_by = @me AND seq > @after)) " +
            "ORDER BY seq LIMIT @limit FOR UPDATE SKIP LOCKED) " +
            "RETURNING seq, envelope_id, envelope, indicator_count, created_at, hop_count, payload_kind";
        claim.Parameters.AddWithValue("me", postgres.Instance);
        claim.Parameters.AddWithValue("lease", leaseMs);
        claim.Parameters.AddWithValue("peer", peer);
        claim.Parameters.AddWithValue("after", afterSeq);
        claim.Parameters.AddWithValue("limit", limit);
        await using var reader = await claim.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await ReadOutboxEntriesAsync(reader, peer, ct).ConfigureAwait(false);
    }

    /// <summary>Removes an acknowledged envelope. False when it was not there (already deleted, or unknown).</summary>
    public async Task<bool> DeleteOutboxAsync(string peer, ReadOnlyMemory<byte> envelopeId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        CheckId(envelopeId, nameof(envelopeId));
        var id = envelopeId.ToArray();
        var removed = await WriteAsync(
            (connection, transaction) => Execute(connection, transaction, "DELETE FROM outbox WHERE peer = @peer AND envelope_id = @id", ("@peer", peer), ("@id", id)),
            ct).ConfigureAwait(false);
        return removed > 0;
    }

    /// <summary>Depth, indicator count and oldest entry of a peer's outbox.</summary>
    public async Task<OutboxStats> GetOutboxStatsAsync(string peer, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), CAST(COALESCE(SUM(indicator_count), 0) AS BIGINT), MIN(created_at) FROM outbox WHERE peer = @peer";
        command.Parameters.AddWithValue("@peer", peer);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        return new OutboxStats(
            reader.GetInt64(0),
            reader.GetInt64(1),
            reader.IsDBNull(2) ? null : UnixTime.FromMs(reader.GetInt64(2)));
    }

    /// <summary>Remembers that <paramref name="indicatorId"/> is withheld from <paramref name="peer"/> until <paramref name="until"/>.</summary>
    public Task ScheduleEmbargoedAsync(string peer, string indicatorId, DateTimeOffset until, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(peer);
        ArgumentException.ThrowIfNullOrEmpty(indicatorId);
        return WriteAsync(
            (connection, transaction) => Execute(connection, transaction,
                "INSERT INTO embargo (peer, indicator_id, until) VALUES (@peer, @id, @until) ON CONFLICT (peer, indicator_id) DO UPDATE SET until = excluded.until",
                ("@peer", peer), ("@id", indicatorId), ("@until", UnixTime.ToMs(until))),
            ct);
    }

    /// <summary>Removes and returns up to <paramref name="limit"/> embargoed items due at <paramref name="now"/>, earliest first.</summary>
    public Task<IReadOnlyList<EmbargoedItem>> TakeDueEmbargoedAsync(DateTimeOffset now, CancellationToken ct, int limit = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return WriteAsync<IReadOnlyList<EmbargoedItem>>(
            (connection, transaction) =>
            {
                var due = new List<EmbargoedItem>();
                using (var select = connection.CreateCommand())
                {
                    select.Transaction = transaction;
                    select.CommandText = "SELECT peer, indicator_id FROM embargo WHERE until <= @now ORDER BY until LIMIT @limit";
                    select.Parameters.AddWithValue("@now", UnixTime.ToMs(now));
                    select.Parameters.AddWithValue("@limit", limit);
                    using var reader = select.ExecuteReader();
                    while (reader.Read())
                    {
                        due.Add(new EmbargoedItem(reader.GetString(0), reader.GetString(1)));
                    }
                }

                using var delete = connection.CreateCommand();
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM embargo WHERE peer = @peer AND indicator_id = @id";
                var pPeer = delete.Parameters.Add("@peer", DbType.String);
                var pId = delete.Parameters.Add("@id", DbType.String);
                delete.Prepare();
                foreach (var item in due)
                {
                    pPeer.Value = item.Peer;
                    pId.Value = item.IndicatorId;
                    delete.ExecuteNonQuery();
                }

                return due;
            },
            ct);
    }

    /// <summary>The stored (merged) indicator, or null.</summary>
    public async Task<Indicator?> GetIndicatorAsync(string id, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = SelectBlobSql;
        command.Parameters.AddWithValue("@key", StoreDialect.Of(connection).Key(id));
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is byte[] blob ? Indicator.Parser.ParseFrom(blob) : null;
    }

    /// <summary>
    /// At most <paramref name="limit"/> indicators whose value starts with <paramref name="prefix"/> (byte order, so
    /// case-sensitive), in value order. There is no index on the value: this reads the indicators table (an index cost
    /// 27% of end-to-end throughput at 1,000,000 stored, on every write, for an occasional operator search).
    /// </summary>
    public async Task<IReadOnlyList<Indicator>> SearchIndicatorsByValueAsync(string prefix, int limit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        // Byte order on both engines (SQLite's BINARY, PostgreSQL's "C" collation): every value with the prefix lies in
        // [prefix, prefix + U+10FFFF).
        var value = _db.Dialect.IsPostgres ? "value COLLATE \"C\"" : "value";
        command.CommandText = $"SELECT blob FROM indicators WHERE {value} >= @low AND {value} < @high ORDER BY {value} LIMIT @n";
        command.Parameters.AddWithValue("@low", prefix);
        command.Parameters.AddWithValue("@high", prefix + char.ConvertFromUtf32(0x10FFFF));
        command.Parameters.AddWithValue("@n", limit);
        var found = new List<Indicator>();
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            found.Add(Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(0)));
        }

        return found;
    }

    /// <summary>
    /// Every stored indicator in id order, streamed (for `indicators export`). The order is that of the binary key,
    /// which for canonical UUID ids (all that validation admits) is the order of the id text.
    /// </summary>
    public async IAsyncEnumerable<Indicator> ReadAllIndicatorsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT blob FROM indicators ORDER BY id_key";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            yield return Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(0));
        }
    }

    /// <summary>
    /// Runs SQLite's full <c>PRAGMA integrity_check</c> (every page, every index against its table) on a read connection,
    /// i.e. on a consistent snapshot while the writer goes on; throws <see cref="DamagedDatabaseException"/> on a finding.
    /// </summary>
    public async Task CheckIntegrityAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        await using var connection = _db.OpenReader();
        if (connection is Microsoft.Data.Sqlite.SqliteConnection sqlite)
        {
            DatabaseCheck.CheckIntegrity(sqlite, Path, full: true);
        }
        else
        {
            // PostgreSQL checks its own pages (data checksums, if the cluster was initialised with them); a query that
            // reads every row of the tables the node depends on is what can be checked from here.
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT (SELECT COUNT(*) FROM indicators) + (SELECT COUNT(*) FROM audit) + (SELECT COUNT(*) FROM outbox)";
            await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Number of stored indicators.</summary>
    public Task<long> CountIndicatorsAsync(CancellationToken ct) => CountAsync("indicators", ct);

    /// <summary>Number of quarantined indicators.</summary>
    public Task<long> CountQuarantinedAsync(CancellationToken ct) => CountAsync("quarantine", ct);

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    private async Task<long> CountAsync(string table, CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM " + table;
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken ct) => _db.WriteAsync(work, ct);

    private static int Execute(DbConnection connection, DbTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>A command in <paramref name="transaction"/> with its parameters bound (the caller disposes it).</summary>
    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    private static void CheckId(ReadOnlyMemory<byte> id, string name)
    {
        if (id.IsEmpty || id.Length > MaxIdBytes)
        {
            throw new ArgumentException($"id must be 1-{MaxIdBytes} bytes, got {id.Length}", name);
        }
    }

    /// <summary>The indicator writes of one write transaction: row at a time on SQLite, set-based on PostgreSQL.</summary>
    private static IIndicatorWrites IndicatorWrites(DbConnection connection, DbTransaction transaction) =>
        connection is Npgsql.NpgsqlConnection postgres
            ? new PostgresIndicatorWrites(postgres, (Npgsql.NpgsqlTransaction)transaction)
            : new IndicatorCommands(connection, transaction);

    /// <summary>
    /// Applies one incoming indicator of a write to <paramref name="changed"/> (this write's changes by id, in first
    /// appearance order): merged into an earlier change of the same write; else inserted when its id is new (SQLite:
    /// at once, one statement whose unique-key check is the lookup; PostgreSQL: with the write's other new rows in
    /// <see cref="IIndicatorWrites.WriteChanged"/>); else merged with the stored record, which is rewritten by
    /// <see cref="IIndicatorWrites.WriteChanged"/>. <paramref name="localSeq"/>: the next change-feed
    /// number, taken by each indicator at its first appearance (own agents' changes), or null (received content).
    /// The own view (<see cref="OwnState"/>) is advanced beside the merged record: own sightings go into both, received
    /// content into the merged record only.
    /// </summary>
    private static ItemOutcome Apply(IIndicatorWrites indicators, Dictionary<string, StoredIndicator> changed, Indicator incoming, bool received,
        DateTimeOffset now, ref long? localSeq)
    {
        if (changed.TryGetValue(incoming.Id, out var earlier))
        {
            changed[incoming.Id] = Merged(earlier, incoming, received) with { Dirty = true };
            return ItemOutcome.Merged;
        }

        var seq = localSeq;
        localSeq = localSeq + 1;
        var own = received ? OwnState.None : OwnState.Whole;
        if (indicators.TryInsert(incoming, now, seq, own, out var rowId))
        {
            changed[incoming.Id] = new StoredIndicator(rowId, incoming, own, null, seq, Dirty: false);
            return ItemOutcome.Accepted;
        }

        if (!indicators.TryGet(incoming.Id, out var stored))
        {
            throw new InvalidOperationException($"indicator {incoming.Id} conflicted with a stored one that cannot be read");
        }

        changed[incoming.Id] = Merged(stored, incoming, received) with { Seq = seq, Dirty = true };
        return ItemOutcome.Merged;
    }

    /// <summary><paramref name="stored"/> with <paramref name="incoming"/> merged into the record and, for own sightings, into the own view.</summary>
    private static StoredIndicator Merged(StoredIndicator stored, Indicator incoming, bool received)
    {
        if (received)
        {
            var merged = IndicatorMerger.Merge(stored.Indicator, incoming, 1.0, ObservationMerge.LatestState);
            return stored.Own switch
            {
                // The record was the own view until now: keep that view apart from the peer's content.
                OwnState.Whole => stored with { Indicator = merged, Own = OwnState.Separate, OwnView = stored.Indicator },
                _ => stored with { Indicator = merged },
            };
        }

        var record = IndicatorMerger.Merge(stored.Indicator, incoming);
        return stored.Own switch
        {
            OwnState.Whole => stored with { Indicator = record },
            // The first own sighting of an indicator received before (or of a row whose own view an older schema lost).
            OwnState.None => stored with { Indicator = record, Own = OwnState.Separate, OwnView = incoming },
            _ => stored with { Indicator = record, OwnView = IndicatorMerger.Merge(stored.OwnView!, incoming) },
        };
    }

    /// <summary>
    /// An indicator of a write with its table row id (0: a new row not written yet, PostgreSQL), where its own view is
    /// (<paramref name="OwnView"/>: set for <see cref="OwnState.Separate"/> only), the change-feed number it takes (null:
    /// keep the stored one) and whether its row still has to be rewritten (merged after it was read or inserted).
    /// </summary>
    private readonly record struct StoredIndicator(long RowId, Indicator Indicator, OwnState Own, Indicator? OwnView, long? Seq, bool Dirty);

    /// <summary>The indicator reads and writes of one write (<see cref="Apply"/>), for one engine.</summary>
    private interface IIndicatorWrites : IDisposable
    {
        /// <summary>Announces the ids the write will apply (PostgreSQL reads the stored ones in one statement; SQLite reads each when needed).</summary>
        void Load(IEnumerable<string> ids);

        /// <summary>
        /// Inserts <paramref name="indicator"/> (or, on PostgreSQL, notes it for insertion by <see cref="WriteChanged"/>)
        /// unless its id is stored; true with its row id (0 while not written) when it is new. <paramref name="localSeq"/>
        /// (own agents' changes only) feeds the outbound change feed; <paramref name="own"/> is <see cref="OwnState.Whole"/>
        /// for an own sighting, <see cref="OwnState.None"/> for received content.
        /// </summary>
        bool TryInsert(Indicator indicator, DateTimeOffset now, long? localSeq, OwnState own, out long rowId);

        /// <summary>The stored record of <paramref name="id"/>, as it was before this write.</summary>
        bool TryGet(string id, out StoredIndicator stored);

        /// <summary>Writes the rows of this write's changes that are not written yet: merged ones (Dirty; a null Seq keeps the stored local_seq) and, on PostgreSQL, new ones.</summary>
        void WriteChanged(IEnumerable<StoredIndicator> changed, DateTimeOffset now);
    }

    /// <summary>
    /// SQLite's indicator writes: prepared statements reused for every row of one transaction (a statement is an
    /// in-process call of a few µs, so row at a time costs little). A new id is
    /// inserted by one statement whose unique-key check is the lookup (one B-tree descent and one statement fewer per
    /// new indicator than a lookup before the insert); a stored one is read, merged and rewritten in place
    /// by row id. Row ids grow, so new rows land at the end of the table instead of on random pages of a clustered
    /// index (about 3x faster than the WITHOUT ROWID upsert of schema version 2).
    /// </summary>
    private sealed class IndicatorCommands : IIndicatorWrites
    {
        private readonly DbConnection _connection;
        private readonly DbCommand _select;
        private readonly DbParameter _selectKey;
        private readonly DbCommand _insert;
        private readonly DbParameter _key;
        private readonly DbParameter _id;
        private readonly DbParameter _type;
        private readonly DbParameter _value;
        private readonly DbParameter _tlp;
        private readonly DbParameter _confidence;
        private readonly DbParameter _now;
        private readonly DbParameter _blob;
        private readonly DbParameter _seq;
        private readonly DbParameter _own;
        private readonly DbCommand _update;
        private readonly DbParameter _uRowId;
        private readonly DbParameter _uTlp;
        private readonly DbParameter _uConfidence;
        private readonly DbParameter _uNow;
        private readonly DbParameter _uBlob;
        private readonly DbParameter _uSeq;
        private readonly DbParameter _uOwn;
        private readonly DbParameter _uOwnBlob;

        public IndicatorCommands(DbConnection connection, DbTransaction transaction)
        {
            _select = connection.CreateCommand();
            _select.Transaction = transaction;
            _select.CommandText = SelectRowSql;
            // No declared type: the key binds as a BLOB (canonical UUID) or TEXT (anything else), see IndicatorKey.
            _selectKey = _select.Parameters.AddUntyped("@key");
            _select.Prepare();

            _insert = connection.CreateCommand();
            _insert.Transaction = transaction;
            // A stored id is a conflict on the unique key: nothing is written. (No RETURNING clause: SQLite runs such a
            // statement through an ephemeral table, measured at several µs per row; the new row id is the connection's
            // last insert row id.)
            _connection = connection;
            _insert.CommandText = InsertSql + " ON CONFLICT (id_key) DO NOTHING";
            _key = _insert.Parameters.AddUntyped("@key");
            _id = _insert.Parameters.Add("@id", DbType.String);
            _type = _insert.Parameters.Add("@type", DbType.Int64);
            _value = _insert.Parameters.Add("@value", DbType.String);
            _tlp = _insert.Parameters.Add("@tlp", DbType.Int64);
            _confidence = _insert.Parameters.Add("@confidence", DbType.Int64);
            _now = _insert.Parameters.Add("@now", DbType.Int64);
            _blob = _insert.Parameters.Add("@blob", DbType.Binary);
            _seq = _insert.Parameters.Add("@seq", DbType.Int64);
            _own = _insert.Parameters.Add("@own", DbType.Int64);
            _insert.Prepare();

            _update = connection.CreateCommand();
            _update.Transaction = transaction;
            _update.CommandText = UpdateSql;
            _uRowId = _update.Parameters.Add("@rid", DbType.Int64);
            _uTlp = _update.Parameters.Add("@tlp", DbType.Int64);
            _uConfidence = _update.Parameters.Add("@confidence", DbType.Int64);
            _uNow = _update.Parameters.Add("@now", DbType.Int64);
            _uBlob = _update.Parameters.Add("@blob", DbType.Binary);
            _uSeq = _update.Parameters.Add("@seq", DbType.Int64);
            _uOwn = _update.Parameters.Add("@own", DbType.Int64);
            _uOwnBlob = _update.Parameters.Add("@ownBlob", DbType.Binary);
            _update.Prepare();
        }

        public void Load(IEnumerable<string> ids)
        {
            // Each stored id is read when its insert conflicts (TryGet): one B-tree descent, no statement for new ids.
        }

        public bool TryGet(string id, out StoredIndicator stored)
        {
            _selectKey.Value = IndicatorKey.Of(id);
            using var reader = _select.ExecuteReader();
            if (!reader.Read())
            {
                stored = default;
                return false;
            }

            var own = (OwnState)reader.GetInt64(2);
            var ownView = own == OwnState.Separate ? Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(3)) : null;
            stored = new StoredIndicator(reader.GetInt64(0), Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(1)), own, ownView, null, false);
            return true;
        }

        public bool TryInsert(Indicator indicator, DateTimeOffset now, long? localSeq, OwnState own, out long rowId)
        {
            _key.Value = IndicatorKey.Of(indicator.Id);
            _id.Value = indicator.Id;
            _type.Value = (int)indicator.Type;
            _value.Value = indicator.Value;
            _tlp.Value = (int)indicator.Tlp;
            _confidence.Value = (long)indicator.Confidence;
            _now.Value = UnixTime.ToMs(now);
            _blob.Value = indicator.ToByteArray();
            _seq.Value = localSeq is { } s ? s : DBNull.Value;
            _own.Value = (int)own;
            if (_insert.ExecuteNonQuery() == 1)
            {
                rowId = SQLitePCL.raw.sqlite3_last_insert_rowid(((Microsoft.Data.Sqlite.SqliteConnection)_connection).Handle);
                return true;
            }

            rowId = 0;
            return false;
        }

        public void WriteChanged(IEnumerable<StoredIndicator> changed, DateTimeOffset now)
        {
            foreach (var stored in changed)
            {
                if (!stored.Dirty)
                {
                    continue;
                }

                var indicator = stored.Indicator;
                _uRowId.Value = stored.RowId;
                _uTlp.Value = (int)indicator.Tlp;
                _uConfidence.Value = (long)indicator.Confidence;
                _uNow.Value = UnixTime.ToMs(now);
                _uBlob.Value = indicator.ToByteArray();
                _uSeq.Value = stored.Seq is { } s ? s : DBNull.Value;
                _uOwn.Value = (int)stored.Own;
                _uOwnBlob.Value = stored.Own == OwnState.Separate ? stored.OwnView!.ToByteArray() : DBNull.Value;
                _update.ExecuteNonQuery();
            }
        }

        public void Dispose()
        {
            _select.Dispose();
            _insert.Dispose();
            _update.Dispose();
        }
    }
}
