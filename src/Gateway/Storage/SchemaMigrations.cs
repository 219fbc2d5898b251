using Microsoft.Data.Sqlite;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Versioned schema, applied in code. PRAGMA user_version holds the version of the last applied migration; each
/// migration runs in its own transaction together with the user_version update, so a crash leaves either the old
/// or the new version, never half of one. Migrations are append-only: never edit a released one.
/// </summary>
internal static class SchemaMigrations
{
    /// <summary>Migration scripts; index i holds version i + 1.</summary>
    private static readonly string[] Scripts =
    [
        // 1: indicators, ingest batches, replay store, loop prevention, outbox, audit.
        """
        CREATE TABLE indicators (
            id TEXT NOT NULL PRIMARY KEY,
            type INTEGER NOT NULL,
            value TEXT NOT NULL,
            tlp INTEGER NOT NULL,
            confidence INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            blob BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ix_indicators_updated_at ON indicators(updated_at);
        CREATE TABLE ingest_batches (
            agent TEXT NOT NULL,
            batch_id BLOB NOT NULL,
            committed_at INTEGER NOT NULL,
            results BLOB NOT NULL,
            PRIMARY KEY (agent, batch_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_ingest_batches_committed_at ON ingest_batches(committed_at);
        CREATE TABLE seen_envelopes (
            envelope_id BLOB NOT NULL PRIMARY KEY,
            sender TEXT NOT NULL,
            received_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ix_seen_envelopes_received_at ON seen_envelopes(received_at);
        CREATE TABLE seen_bundles (
            origin TEXT NOT NULL,
            bundle_id BLOB NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (origin, bundle_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_seen_bundles_received_at ON seen_bundles(received_at);
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            peer TEXT NOT NULL,
            envelope_id BLOB NOT NULL,
            envelope BLOB NOT NULL,
            indicator_count INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (peer, envelope_id)
        );
        CREATE INDEX ix_outbox_peer_seq ON outbox(peer, seq);
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            subject TEXT NOT NULL,
            decision TEXT NOT NULL,
            reason TEXT NOT NULL,
            details_json TEXT NOT NULL,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL
        );
        """,

        // 2: quarantine for mistrusted peers, and the per-peer embargo queue.
        """
        CREATE TABLE quarantine (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            indicator_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            origin TEXT NOT NULL,
            envelope_id BLOB NOT NULL,
            received_at INTEGER NOT NULL,
            reason TEXT NOT NULL,
            blob BLOB NOT NULL
        );
        CREATE INDEX ix_quarantine_indicator ON quarantine(indicator_id);
        CREATE TABLE embargo (
            peer TEXT NOT NULL,
            indicator_id TEXT NOT NULL,
            until INTEGER NOT NULL,
            PRIMARY KEY (peer, indicator_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_embargo_until ON embargo(until);
        """,

        // 2: change feed of locally ingested indicators (local_seq), per-peer dispatch cursors, relay hop counts.
        """
        ALTER TABLE indicators ADD COLUMN local_seq INTEGER;
        CREATE INDEX ix_indicators_local_seq ON indicators(local_seq) WHERE local_seq IS NOT NULL;
        CREATE TABLE peer_cursors (
            peer TEXT NOT NULL PRIMARY KEY,
            seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        ALTER TABLE outbox ADD COLUMN hop_count INTEGER NOT NULL DEFAULT 0;
        """,

        // 4: indicators become a rowid table with a unique index on id. New rows are appended instead of being placed
        // at random (UUID-ordered) pages of a clustered WITHOUT ROWID B-tree, and the updated_at index (unused) is gone:
        // about 3x the ingest throughput on 10,000-indicator batches.
        """
        CREATE TABLE indicators_v4 (
            rid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            type INTEGER NOT NULL,
            value TEXT NOT NULL,
            tlp INTEGER NOT NULL,
            confidence INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            blob BLOB NOT NULL,
            local_seq INTEGER
        );
        INSERT INTO indicators_v4 (id, type, value, tlp, confidence, updated_at, blob, local_seq)
            SELECT id, type, value, tlp, confidence, updated_at, blob, local_seq FROM indicators ORDER BY id;
        DROP TABLE indicators;
        ALTER TABLE indicators_v4 RENAME TO indicators;
        CREATE INDEX ix_indicators_local_seq ON indicators(local_seq) WHERE local_seq IS NOT NULL;
        """,

        // 5: the newest root-signed trust bundle accepted per peer domain, so root rotations survive a restart.
        """
        CREATE TABLE peer_trust_bundles (
            trust_domain TEXT NOT NULL PRIMARY KEY,
            anchor_pin TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            signed BLOB NOT NULL,
            accepted_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // 6: the unique index on the 36-character text id becomes a unique index on its 16-byte binary form (id_key, see
        // IndicatorKey): every new indicator is a random insert into that index (ids are UUIDv5, i.e. hashes), which
        // dirtied about one 4 KiB index page per indicator per commit once the store holds 100,000 (WAL, then database
        // file); entries of less than half the size put more of them on each page. The text id stays in the row and
        // stays the public id; row ids are kept (change feed order and rid-based readers unchanged).
        $"""
        CREATE TABLE indicators_v6 (
            rid INTEGER PRIMARY KEY,
            id_key NOT NULL,
            id TEXT NOT NULL,
            type INTEGER NOT NULL,
            value TEXT NOT NULL,
            tlp INTEGER NOT NULL,
            confidence INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            blob BLOB NOT NULL,
            local_seq INTEGER
        );
        INSERT INTO indicators_v6 (rid, id_key, id, type, value, tlp, confidence, updated_at, blob, local_seq)
            SELECT rid, {IndicatorKey.Sql("id")}, id, type, value, tlp, confidence, updated_at, blob, local_seq FROM indicators ORDER BY rid;
        DROP TABLE indicators;
        ALTER TABLE indicators_v6 RENAME TO indicators;
        CREATE UNIQUE INDEX ux_indicators_id_key ON indicators(id_key);
        CREATE INDEX ix_indicators_local_seq ON indicators(local_seq) WHERE local_seq IS NOT NULL;
        """,

        // 7: the origin view. The merged record (blob) mixes peers' content into this node's own; what this node
        // originates must come from its own agents' sightings only (OwnState). own_state 0: no own view (received
        // only); 1: the merged record is the own view (no peer content merged into it); 2: the own view is kept apart in
        // own_blob. Rows of an older database are classified by BackfillOwnState.
        """
        ALTER TABLE indicators ADD COLUMN own_state INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE indicators ADD COLUMN own_blob BLOB;
        """,

        // 8: the replay store remembers which bundle (origin, bundle id) each envelope id carried, so a re-sent copy is
        // answered DUPLICATE only when it carries that same bundle (docs/protocol.md §5 step 7). Rows committed before
        // this migration have NULLs there and match any copy that opens and verifies.
        """
        ALTER TABLE seen_envelopes ADD COLUMN origin TEXT;
        ALTER TABLE seen_envelopes ADD COLUMN bundle_id BLOB;
        """,

        // 9: per caller (own agents, peer gateways) when it was last seen, what it sent, its last error and which
        // sequence of this node's trust bundle it holds, so `status` shows a dead sensor and a peer that has not
        // followed a rotation, with counters that survive a restart (agent counters move in the ingest transaction).
        """
        CREATE TABLE caller_activity (
            caller TEXT NOT NULL PRIMARY KEY,
            kind TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            batches INTEGER NOT NULL DEFAULT 0,
            sightings_stored INTEGER NOT NULL DEFAULT 0,
            sightings_rejected INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            last_error_at INTEGER,
            bundle_sequence INTEGER,
            bundle_fetched_at INTEGER
        ) WITHOUT ROWID;
        """,

        // 10: intelligence lifecycle. The kind of each outbox payload; which peer got which indicator of which origin from
        // this node (so a withdrawal follows exactly the paths the indicator took); withdrawals by origins; local
        // suppressions; sightings reported back to origins (what was reported, per origin) and received from peers.
        """
        ALTER TABLE outbox ADD COLUMN payload_kind INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE deliveries (
            id_key NOT NULL,
            origin TEXT NOT NULL,
            peer TEXT NOT NULL,
            delivered_at INTEGER NOT NULL,
            PRIMARY KEY (id_key, origin, peer)
        ) WITHOUT ROWID;
        CREATE TABLE withdrawals (
            origin TEXT NOT NULL,
            indicator_id TEXT NOT NULL,
            withdrawal_id BLOB NOT NULL,
            reason TEXT NOT NULL,
            withdrawn_at INTEGER NOT NULL,
            recorded_at INTEGER NOT NULL,
            sender TEXT NOT NULL,
            PRIMARY KEY (origin, indicator_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_withdrawals_indicator ON withdrawals(indicator_id);
        CREATE TABLE suppressions (
            indicator_id TEXT NOT NULL PRIMARY KEY,
            reason TEXT NOT NULL,
            suppressed_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE sightings_reported (
            indicator_id TEXT NOT NULL,
            origin TEXT NOT NULL,
            count INTEGER NOT NULL,
            reported_at INTEGER NOT NULL,
            PRIMARY KEY (indicator_id, origin)
        ) WITHOUT ROWID;
        CREATE TABLE sightings_received (
            indicator_id TEXT NOT NULL,
            reporter TEXT NOT NULL,
            report_id BLOB NOT NULL,
            count INTEGER NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            sectors TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (indicator_id, reporter, report_id)
        ) WITHOUT ROWID;
        """,

        // 11: per peer the counters `status` shows, so they survive a restart. Each moves inside the transaction of
        // what it counts: received with the receive commit, sent when the peer's ack deletes the outbox row, withheld
        // with the dispatch commit.
        """
        CREATE TABLE peer_counters (
            peer TEXT NOT NULL PRIMARY KEY,
            envelopes_sent INTEGER NOT NULL DEFAULT 0,
            indicators_sent INTEGER NOT NULL DEFAULT 0,
            envelopes_received INTEGER NOT NULL DEFAULT 0,
            indicators_received INTEGER NOT NULL DEFAULT 0,
            indicators_withheld INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        """,

        // 12: the console's audit search by kind pages through the whole log along this index (AuditLog.SearchAsync).
        // Its indicator search by value prefix has no index on purpose: one on indicators(value) cost 27% of the load
        // tool's end-to-end throughput with 1,000,000 stored (docs/performance.md), for an occasional operator search.
        """
        CREATE INDEX ix_audit_kind_seq ON audit(kind, seq);
        """,

        // 13: sightings back along relay paths. Which peer relayed which indicator of which origin to this node
        // (written with relayed bundles only: a report of a relayed indicator goes back to that peer), and the sighting
        // reports this node forwarded or withheld on another node's behalf (a second copy of one is a replay).
        """
        CREATE TABLE received_from (
            id_key NOT NULL,
            origin TEXT NOT NULL,
            peer TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (id_key, origin, peer)
        ) WITHOUT ROWID;
        CREATE TABLE sightings_forwarded (
            reporter TEXT NOT NULL,
            report_id BLOB NOT NULL,
            sender TEXT NOT NULL,
            forwarded_to TEXT,
            recorded_at INTEGER NOT NULL,
            PRIMARY KEY (reporter, report_id)
        ) WITHOUT ROWID;
        """,

        // 14: the status resources of TAXII POSTs to the outbound collection (TAXII 2.1 §4.3), so an analyst tool that
        // polls a status after the node restarted still finds it (TaxiiStatusStore keeps 24 hours, 10,000 at most).
        """
        CREATE TABLE taxii_statuses (
            id TEXT NOT NULL PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ix_taxii_statuses_created ON taxii_statuses(created_at);
        """,

        // 15: deliveries keyed by the indicator's row id instead of its id. The dispatch commit writes one row per shared
        // indicator and peer; keyed by the id (a UUIDv5, i.e. a hash) each row landed on its own random leaf page (381 WAL
        // pages per 1,000 indicators at 100,000 stored, docs/performance.md), keyed by the row id (which grows with
        // insertion, and the change feed is read in insertion order) new rows append at the B-tree's right edge. Lookups
        // by id go through the unique index on indicators(id_key). A row whose indicator is no longer stored (expired
        // while a dispatch of it was in flight) is dropped, as expiry drops the paths of what it deletes: a row id may be
        // reused after its row is deleted, so a path must never outlive its indicator row.
        """
        CREATE TABLE deliveries_v15 (
            rid INTEGER NOT NULL,
            origin TEXT NOT NULL,
            peer TEXT NOT NULL,
            delivered_at INTEGER NOT NULL,
            PRIMARY KEY (rid, origin, peer)
        ) WITHOUT ROWID;
        INSERT INTO deliveries_v15 (rid, origin, peer, delivered_at)
            SELECT i.rid, d.origin, d.peer, d.delivered_at FROM deliveries d JOIN indicators i ON i.id_key = d.id_key ORDER BY 1, 2, 3;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_v15 RENAME TO deliveries;
        """,
    ];

    /// <summary>Code run after a version's script, in the same transaction; by version.</summary>
    private static readonly Dictionary<int, Action<SqliteConnection, SqliteTransaction>> CodeSteps = new()
    {
        [7] = BackfillOwnState,
    };

    /// <summary>The schema version this build writes.</summary>
    public static int LatestVersion => Scripts.Length;

    /// <summary>Reads PRAGMA user_version.</summary>
    public static long ReadVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Brings the database to <paramref name="targetVersion"/> (default: latest). Refuses a database written by a
    /// newer build rather than guessing at its schema.
    /// </summary>
    public static void Migrate(SqliteConnection connection, int? targetVersion = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var target = targetVersion ?? LatestVersion;
        if (target < 0 || target > LatestVersion)
        {
            throw new ArgumentOutOfRangeException(nameof(targetVersion), target, $"schema versions are 0-{LatestVersion}");
        }

        var current = ReadVersion(connection);
        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"database schema version {current} is newer than this build supports ({LatestVersion}); refusing to open it");
        }

        for (var version = (int)current + 1; version <= target; version++)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Scripts[version - 1] + $"\nPRAGMA user_version = {version};";
            command.ExecuteNonQuery();
            if (CodeSteps.TryGetValue(version, out var step))
            {
                step(connection, transaction);
            }

            transaction.Commit();
        }
    }

    /// <summary>
    /// Version 7: which stored rows of an older build are this node's own view. Before version 7 only the merged record
    /// was kept, and its indicator-level fields cannot be split back into sources. A row is taken as the own view only
    /// when it is certainly one: own agents changed it (local_seq set), every observation is of one node, and the
    /// record's origin domain is that node's trust domain. Every other row (received only, or own and peers' content
    /// mixed) gets no own view and is not originated until an own agent reports it again (fail closed: a mixed row may
    /// carry a peer's confidence, first_seen, tags or marking).
    /// </summary>
    private static void BackfillOwnState(SqliteConnection connection, SqliteTransaction transaction)
    {
        var own = new List<long>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT rid, blob FROM indicators WHERE local_seq IS NOT NULL";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                var indicator = Contracts.V1.Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(1));
                if (IsOnlyOneNodes(indicator))
                {
                    own.Add(reader.GetInt64(0));
                }
            }
        }

        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE indicators SET own_state = 1 WHERE rid = $rid";
        var rid = update.Parameters.Add("$rid", SqliteType.Integer);
        update.Prepare();
        foreach (var id in own)
        {
            rid.Value = id;
            update.ExecuteNonQuery();
        }
    }

    private static bool IsOnlyOneNodes(Contracts.V1.Indicator indicator)
    {
        if (indicator.Observations.Count == 0)
        {
            return false;
        }

        var node = indicator.Observations[0].Node;
        foreach (var observation in indicator.Observations)
        {
            if (node.Length == 0 || !string.Equals(observation.Node, node, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return string.Equals(indicator.OriginDomain, Pipeline.SightingValidator.TrustDomainOf(node), StringComparison.Ordinal);
    }
}
