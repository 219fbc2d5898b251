using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Npgsql;
using NpgsqlTypes;

namespace CyberCoop.Gateway.Storage;

internal sealed partial class GatewayStore
{
    /// <summary>
    /// PostgreSQL's indicator writes, set-based: one write's stored rows are read by one <c>SELECT ... = ANY(keys)</c>
    /// (<see cref="Load"/>), its new rows are inserted by one <c>INSERT ... SELECT FROM unnest(arrays)</c> and its
    /// merged rows rewritten by one <c>UPDATE ... FROM unnest(arrays)</c> (<see cref="WriteChanged"/>): three round
    /// trips per write instead of one or two per indicator (each statement is a round trip to the server, where SQLite's
    /// are in-process calls; docs/performance.md, "PostgreSQL (load tool)").
    /// </summary>
    /// <remarks>
    /// The read is as current as the row-at-a-time path's: every write transaction holds the database's advisory write
    /// lock (<see cref="PostgresDatabase.WriteLock"/>) from its start, so no other process of the nation writes between
    /// this read and the inserts, and the statement's snapshot, taken after the lock was granted, holds every commit made
    /// before. Earlier writes of the same transaction (group commit) have written their rows before this one reads. A
    /// new id is therefore never stored when it is inserted; should it be (a write that bypassed the lock), the unique
    /// index refuses the insert and the write fails alone, in its savepoint, with nothing of it stored. A new id that
    /// appears again later in the write is merged in memory and inserted once, in its merged state: the row the
    /// row-at-a-time path leaves after its insert and update. On the PostgreSQL store the key of an id is its text
    /// (<see cref="StoreDialect.Key"/>).
    /// </remarks>
    private sealed class PostgresIndicatorWrites(NpgsqlConnection connection, NpgsqlTransaction transaction) : IIndicatorWrites
    {
        private const string SelectSql = "SELECT rid, id_key, blob, own_state, own_blob FROM indicators WHERE id_key = ANY(@keys)";

        private const string InsertManySql =
            "INSERT INTO indicators (id_key, id, type, value, tlp, confidence, updated_at, blob, local_seq, own_state, own_blob) " +
            "SELECT u.id, u.id, u.type, u.value, u.tlp, u.confidence, @now, u.blob, u.local_seq, u.own_state, u.own_blob " +
            "FROM unnest(@ids, @types, @values, @tlps, @confidences, @blobs, @seqs, @owns, @ownBlobs) " +
            "AS u(id, type, value, tlp, confidence, blob, local_seq, own_state, own_blob)";

        private const string UpdateManySql =
            "UPDATE indicators AS t SET tlp = u.tlp, confidence = u.confidence, updated_at = @now, blob = u.blob, " +
            "local_seq = COALESCE(u.local_seq, t.local_seq), own_state = u.own_state, own_blob = u.own_blob " +
            "FROM unnest(@rids, @tlps, @confidences, @blobs, @seqs, @owns, @ownBlobs) " +
            "AS u(rid, tlp, confidence, blob, local_seq, own_state, own_blob) WHERE t.rid = u.rid";

        /// <summary>Stored records of the loaded ids, as they were before this write.</summary>
        private readonly Dictionary<string, StoredIndicator> _stored = new(StringComparer.Ordinal);

        /// <summary>Ids whose stored state was read (stored or not).</summary>
        private readonly HashSet<string> _loaded = new(StringComparer.Ordinal);

        public void Load(IEnumerable<string> ids)
        {
            var keys = new List<string>();
            foreach (var id in ids)
            {
                if (_loaded.Add(id))
                {
                    keys.Add(id);
                }
            }

            if (keys.Count == 0)
            {
                return;
            }

            using var select = new NpgsqlCommand(SelectSql, connection, transaction);
            select.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. keys] });
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                var own = (OwnState)reader.GetInt32(3);
                var ownView = own == OwnState.Separate ? Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(4)) : null;
                _stored[reader.GetString(1)] = new StoredIndicator(
                    reader.GetInt64(0), Indicator.Parser.ParseFrom(reader.GetFieldValue<byte[]>(2)), own, ownView, null, Dirty: false);
            }
        }

        public bool TryInsert(Indicator indicator, DateTimeOffset now, long? localSeq, OwnState own, out long rowId)
        {
            if (!_loaded.Contains(indicator.Id))
            {
                throw new InvalidOperationException($"indicator {indicator.Id} was not loaded before it was applied");
            }

            rowId = 0; // written by WriteChanged
            return !_stored.ContainsKey(indicator.Id);
        }

        public bool TryGet(string id, out StoredIndicator stored) => _stored.TryGetValue(id, out stored);

        public void WriteChanged(IEnumerable<StoredIndicator> changed, DateTimeOffset now)
        {
            var inserts = new Rows();
            var updates = new Rows();
            foreach (var row in changed)
            {
                if (row.RowId == 0)
                {
                    inserts.Add(row);
                }
                else if (row.Dirty)
                {
                    updates.Add(row);
                }
            }

            var nowMs = UnixTime.ToMs(now);
            if (inserts.Count > 0)
            {
                using var insert = new NpgsqlCommand(InsertManySql, connection, transaction);
                insert.Parameters.Add(new NpgsqlParameter<long>("now", NpgsqlDbType.Bigint) { TypedValue = nowMs });
                insert.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. inserts.Ids] });
                insert.Parameters.Add(new NpgsqlParameter<int[]>("types", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. inserts.Types] });
                insert.Parameters.Add(new NpgsqlParameter<string[]>("values", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. inserts.Values] });
                inserts.AddCommon(insert);
                var written = insert.ExecuteNonQuery();
                if (written != inserts.Count)
                {
                    throw new InvalidOperationException($"inserted {written} of {inserts.Count} new indicators");
                }
            }

            if (updates.Count > 0)
            {
                using var update = new NpgsqlCommand(UpdateManySql, connection, transaction);
                update.Parameters.Add(new NpgsqlParameter<long>("now", NpgsqlDbType.Bigint) { TypedValue = nowMs });
                update.Parameters.Add(new NpgsqlParameter<long[]>("rids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. updates.RowIds] });
                updates.AddCommon(update);
                var written = update.ExecuteNonQuery();
                if (written != updates.Count)
                {
                    throw new InvalidOperationException($"rewrote {written} of {updates.Count} merged indicators");
                }
            }
        }

        public void Dispose()
        {
        }

        /// <summary>The columns of a set of rows, one array per column (the statements' unnest arguments).</summary>
        private sealed class Rows
        {
            public List<long> RowIds { get; } = [];

            public List<string> Ids { get; } = [];

            public List<int> Types { get; } = [];

            public List<string> Values { get; } = [];

            public int Count => Ids.Count;

            private List<int> Tlps { get; } = [];

            private List<long> Confidences { get; } = [];

            private List<byte[]> Blobs { get; } = [];

            private List<long?> Seqs { get; } = [];

            private List<int> Owns { get; } = [];

            private List<byte[]?> OwnBlobs { get; } = [];

            public void Add(StoredIndicator row)
            {
                var indicator = row.Indicator;
                RowIds.Add(row.RowId);
                Ids.Add(indicator.Id);
                Types.Add((int)indicator.Type);
                Values.Add(indicator.Value);
                Tlps.Add((int)indicator.Tlp);
                Confidences.Add((long)indicator.Confidence);
                Blobs.Add(indicator.ToByteArray());
                Seqs.Add(row.Seq);
                Owns.Add((int)row.Own);
                OwnBlobs.Add(row.Own == OwnState.Separate ? row.OwnView!.ToByteArray() : null);
            }

            /// <summary>Binds the columns both statements write (tlp, confidence, blob, local_seq, own_state, own_blob).</summary>
            public void AddCommon(NpgsqlCommand command)
            {
                command.Parameters.Add(new NpgsqlParameter<int[]>("tlps", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. Tlps] });
                command.Parameters.Add(new NpgsqlParameter<long[]>("confidences", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. Confidences] });
                command.Parameters.Add(new NpgsqlParameter<byte[][]>("blobs", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = [.. Blobs] });
                command.Parameters.Add(new NpgsqlParameter<long?[]>("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. Seqs] });
                command.Parameters.Add(new NpgsqlParameter<int[]>("owns", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [.. Owns] });
                command.Parameters.Add(new NpgsqlParameter<byte[]?[]>("ownBlobs", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = [.. OwnBlobs] });
            }
        }
    }
}
