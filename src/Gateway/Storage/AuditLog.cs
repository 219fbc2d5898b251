using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Data;
using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Append-only, hash-chained audit log in the gateway database (table audit). Every entry carries the hash of the
/// previous one (<see cref="AuditHasher"/>), so editing, deleting, reordering or inserting an entry breaks the chain
/// at a seq that <see cref="VerifyAsync"/> names. Signed checkpoints bind the chain head to the node key, so a
/// rewrite of the whole chain up to a checkpoint is detected too.
/// </summary>
internal sealed class AuditLog
{
    private const string InsertSql =
        "INSERT INTO audit (seq, at, kind, actor, subject, decision, reason, details_json, prev_hash, hash) " +
        "VALUES (@seq, @at, @kind, @actor, @subject, @decision, @reason, @details, @prev, @hash)";

    private const string SelectColumns = "seq, at, kind, actor, subject, decision, reason, details_json, prev_hash, hash";

    private readonly IStoreDatabase _db;
    private readonly TimeProvider _time;

    internal AuditLog(IStoreDatabase db, TimeProvider time)
    {
        _db = db;
        _time = time;
    }

    /// <summary>Appends <paramref name="entries"/> in one transaction.</summary>
    public Task AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken ct) => AppendAsync(entries, attempt: null, ct);

    /// <summary>
    /// Appends <paramref name="entries"/> in one transaction, recording in <paramref name="attempt"/> where the last entry
    /// went (seq and hash) each time the transaction's work runs, so a caller whose commit failed can tell with
    /// <see cref="HoldsAsync"/> whether it committed all the same (a PostgreSQL commit whose reply was lost).
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<AuditEntry> entries, AuditAppendAttempt? attempt, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(entries);
        CheckEntries(entries);
        if (entries.Count == 0)
        {
            return;
        }

        await _db.WriteAsync(
            (connection, transaction) =>
            {
                var (seq, hash) = AppendChained(connection, transaction, entries);
                attempt?.Ran(seq, hash);
                return seq;
            },
            ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the log holds an entry at <paramref name="seq"/> with <paramref name="hash"/>. The hash covers the entry's
    /// content, time and the hash before it, so it is true only when that very append committed.
    /// </summary>
    public async Task<bool> HoldsAsync(long seq, byte[] hash, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(hash);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT hash FROM audit WHERE seq = @seq";
        command.Parameters.AddWithValue("@seq", seq);
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is byte[] stored && stored.AsSpan().SequenceEqual(hash);
    }

    /// <summary>
    /// Appends inside the caller's write transaction (on the writer, see <see cref="SqliteDatabase.WriteAsync{T}"/>), so decisions commit together
    /// with the data they are about. Returns the last seq written.
    /// </summary>
    internal long AppendInTransaction(DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditEntry> entries) =>
        AppendChained(connection, transaction, entries).Seq;

    /// <summary>Appends after the chain's head; returns the seq and hash of the last entry (the head's when none).</summary>
    private (long Seq, byte[] Hash) AppendChained(DbConnection connection, DbTransaction transaction, IReadOnlyList<AuditEntry> entries)
    {
        CheckEntries(entries);
        var (seq, prevHash) = ReadHead(connection, transaction);
        if (entries.Count == 0)
        {
            return (seq, prevHash);
        }

        var now = UnixTime.ToMs(_time.GetUtcNow());
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = InsertSql;
        var pSeq = insert.Parameters.Add("@seq", DbType.Int64);
        var pAt = insert.Parameters.Add("@at", DbType.Int64);
        var pKind = insert.Parameters.Add("@kind", DbType.String);
        var pActor = insert.Parameters.Add("@actor", DbType.String);
        var pSubject = insert.Parameters.Add("@subject", DbType.String);
        var pDecision = insert.Parameters.Add("@decision", DbType.String);
        var pReason = insert.Parameters.Add("@reason", DbType.String);
        var pDetails = insert.Parameters.Add("@details", DbType.String);
        var pPrev = insert.Parameters.Add("@prev", DbType.Binary);
        var pHash = insert.Parameters.Add("@hash", DbType.Binary);
        insert.Prepare();

        foreach (var entry in entries)
        {
            seq++;
            var at = entry.At == default ? now : UnixTime.ToMs(entry.At);
            var hash = AuditHasher.HashEntry(seq, at, entry.Kind, entry.Actor, entry.Subject, entry.Decision, entry.Reason, entry.DetailsJson, prevHash);
            pSeq.Value = seq;
            pAt.Value = at;
            pKind.Value = entry.Kind;
            pActor.Value = entry.Actor;
            pSubject.Value = entry.Subject;
            pDecision.Value = entry.Decision;
            pReason.Value = entry.Reason;
            pDetails.Value = entry.DetailsJson;
            pPrev.Value = prevHash;
            pHash.Value = hash;
            insert.ExecuteNonQuery();
            prevHash = hash;
        }

        return (seq, prevHash);
    }

    /// <summary>
    /// Signs the current head (seq, hash) with <paramref name="sign"/> (the node key; it receives
    /// <see cref="AuditHasher.CheckpointMessage"/>) and appends it as a "checkpoint" entry.
    /// </summary>
    public async Task<AuditCheckpoint> WriteCheckpointAsync(Func<byte[], byte[]> sign, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sign);
        return await _db.WriteAsync(
            (connection, transaction) =>
            {
                var (seq, hash) = ReadHead(connection, transaction);
                var signature = sign(AuditHasher.CheckpointMessage(seq, hash));
                if (signature is null || signature.Length == 0)
                {
                    throw new InvalidOperationException("the checkpoint signer returned no signature");
                }

                var details = JsonSerializer.Serialize(new CheckpointDetails(seq, Convert.ToHexStringLower(hash), Convert.ToBase64String(signature)), AuditJsonContext.Default.CheckpointDetails);
                var entrySeq = AppendInTransaction(connection, transaction,
                [
                    new AuditEntry
                    {
                        Kind = AuditKinds.Checkpoint,
                        Actor = "node",
                        Subject = "seq:" + seq.ToString(CultureInfo.InvariantCulture),
                        Decision = "signed",
                        DetailsJson = details,
                    },
                ]);
                return new AuditCheckpoint(entrySeq, seq, hash, signature);
            },
            ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the whole log in seq order and checks: seqs start at 1 without gaps (deletion), each prev_hash equals the
    /// previous entry's hash (insertion, reordering), each hash matches the entry's content (modification), and each
    /// checkpoint covers exactly the entry before it with a valid signature (when <paramref name="verifyCheckpoint"/>,
    /// called with (message, signature), is given). Stops at the first problem and names its seq.
    /// </summary>
    public async Task<AuditVerifyResult> VerifyAsync(Func<byte[], byte[], bool>? verifyCheckpoint, CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SelectColumns} FROM audit ORDER BY seq";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);

        long expected = 1;
        long checkedCount = 0;
        var checkpoints = 0;
        long lastCheckpointSeq = 0;
        byte[] prevHash = AuditHasher.Genesis.ToArray();
        AuditVerifyResult Fail(long seq, string problem) => new()
        {
            Ok = false,
            EntriesChecked = checkedCount,
            FirstBadSeq = seq,
            Problem = problem,
            CheckpointsVerified = checkpoints,
            SignaturesChecked = verifyCheckpoint is not null,
            UncheckpointedEntries = Math.Max(0, checkedCount - lastCheckpointSeq),
        };

        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            AuditEntry entry;
            try
            {
                entry = ReadEntry(reader);
            }
            catch (Exception ex) when (ex is InvalidCastException or ArgumentOutOfRangeException or FormatException or InvalidOperationException)
            {
                return Fail(expected, $"entry at position {checkedCount + 1} is unreadable ({ex.GetType().Name}): a column holds a value of the wrong type");
            }

            checkedCount++;
            if (entry.Seq != expected)
            {
                return Fail(expected, entry.Seq > expected
                    ? $"entry seq {expected}{(entry.Seq - expected > 1 ? "-" + (entry.Seq - 1).ToString(CultureInfo.InvariantCulture) : string.Empty)} is missing (deleted); next present is seq {entry.Seq}"
                    : $"entry seq {entry.Seq} is out of order (expected {expected})");
            }

            if (!CryptographicOperations.FixedTimeEquals(entry.PrevHash.Span, prevHash))
            {
                return Fail(entry.Seq, $"entry seq {entry.Seq}: prev_hash does not match the hash of entry {entry.Seq - 1} (entry inserted, reordered or replaced)");
            }

            var recomputed = AuditHasher.HashEntry(entry.Seq, UnixTime.ToMs(entry.At), entry.Kind, entry.Actor, entry.Subject, entry.Decision, entry.Reason, entry.DetailsJson, entry.PrevHash.Span);
            if (!CryptographicOperations.FixedTimeEquals(entry.Hash.Span, recomputed))
            {
                return Fail(entry.Seq, $"entry seq {entry.Seq}: content does not match its hash (modified)");
            }

            if (string.Equals(entry.Kind, AuditKinds.Checkpoint, StringComparison.Ordinal))
            {
                var problem = CheckCheckpoint(entry, verifyCheckpoint);
                if (problem is not null)
                {
                    return Fail(entry.Seq, $"checkpoint entry seq {entry.Seq}: {problem}");
                }

                checkpoints++;
                lastCheckpointSeq = entry.Seq;
            }

            prevHash = recomputed;
            expected++;
        }

        return new AuditVerifyResult
        {
            Ok = true,
            EntriesChecked = checkedCount,
            CheckpointsVerified = checkpoints,
            SignaturesChecked = verifyCheckpoint is not null,
            UncheckpointedEntries = checkedCount - lastCheckpointSeq,
        };
    }

    /// <summary>The last <paramref name="last"/> entries, oldest first.</summary>
    public async IAsyncEnumerable<AuditEntry> TailAsync(int last, [EnumeratorCancellation] CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(last);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SelectColumns} FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT @n) AS tail ORDER BY seq";
        command.Parameters.AddWithValue("@n", last);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            yield return ReadEntry(reader);
        }
    }

    /// <summary>
    /// One page of the entries matching <paramref name="query"/> over the whole log, newest first: the newest page, the
    /// page older than <see cref="AuditQuery.BeforeSeq"/> or the page newer than <see cref="AuditQuery.AfterSeq"/>.
    /// Walks the primary key (or <c>ix_audit_kind_seq</c> for a kind) from the cursor and stops at the page's end; a
    /// text is matched with LIKE (ILIKE on PostgreSQL) in the database, nothing is loaded into memory but the page.
    /// </summary>
    public async Task<IReadOnlyList<AuditEntry>> SearchAsync(AuditQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(query.Limit);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        var like = _db.Dialect.IsPostgres ? "ILIKE" : "LIKE";
        var where = new List<string>();
        if (query.Kind.Length > 0)
        {
            where.Add("kind = @kind");
            command.Parameters.AddWithValue("@kind", query.Kind);
        }

        if (query.Text.Length > 0)
        {
            where.Add($"(actor {like} @text ESCAPE '\\' OR subject {like} @text ESCAPE '\\' OR decision {like} @text ESCAPE '\\' " +
                $"OR reason {like} @text ESCAPE '\\' OR kind {like} @text ESCAPE '\\')");
            command.Parameters.AddWithValue("@text", "%" + EscapeLike(query.Text) + "%");
        }

        var newer = query.BeforeSeq is null && query.AfterSeq is not null;
        if (query.BeforeSeq is { } before)
        {
            where.Add("seq < @cursor");
            command.Parameters.AddWithValue("@cursor", before);
        }
        else if (query.AfterSeq is { } after)
        {
            where.Add("seq > @cursor");
            command.Parameters.AddWithValue("@cursor", after);
        }

        command.CommandText = $"SELECT {SelectColumns} FROM audit" + (where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where)) +
            $" ORDER BY seq {(newer ? "ASC" : "DESC")} LIMIT @n";
        command.Parameters.AddWithValue("@n", query.Limit);
        var page = new List<AuditEntry>(Math.Min(query.Limit, 1000));
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                page.Add(ReadEntry(reader));
            }
        }

        if (newer)
        {
            page.Reverse();
        }

        return page;
    }

    private static string EscapeLike(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    /// <summary>Writes every entry as one JSON object per line (JSON Lines) to <paramref name="jsonl"/>.</summary>
    public async Task ExportAsync(Stream jsonl, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(jsonl);
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SelectColumns} FROM audit ORDER BY seq";
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var entry = ReadEntry(reader);
            buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteNumber("seq", entry.Seq);
                writer.WriteString("at", entry.At);
                writer.WriteString("kind", entry.Kind);
                writer.WriteString("actor", entry.Actor);
                writer.WriteString("subject", entry.Subject);
                writer.WriteString("decision", entry.Decision);
                writer.WriteString("reason", entry.Reason);
                writer.WriteString("details_json", entry.DetailsJson);
                writer.WriteString("prev_hash", Convert.ToHexStringLower(entry.PrevHash.Span));
                writer.WriteString("hash", Convert.ToHexStringLower(entry.Hash.Span));
                writer.WriteEndObject();
            }

            System.Buffers.BuffersExtensions.Write(buffer, "\n"u8);
            await jsonl.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
        }

        await jsonl.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Number of entries (the head seq).</summary>
    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM audit";
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private static string? CheckCheckpoint(AuditEntry entry, Func<byte[], byte[], bool>? verify)
    {
        CheckpointDetails? details;
        try
        {
            details = JsonSerializer.Deserialize(entry.DetailsJson, AuditJsonContext.Default.CheckpointDetails);
        }
        catch (JsonException)
        {
            details = null;
        }

        if (details is null || details.Hash is null || details.Signature is null)
        {
            return "details are not a checkpoint";
        }

        // A checkpoint always covers the entry just before it: its seq and hash must be exactly that entry's.
        if (details.Seq != entry.Seq - 1 ||
            !string.Equals(details.Hash, Convert.ToHexStringLower(entry.PrevHash.Span), StringComparison.Ordinal))
        {
            return $"covers seq {details.Seq} with a hash that is not the chain's hash of entry {entry.Seq - 1}";
        }

        if (verify is null)
        {
            return null;
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(details.Signature);
        }
        catch (FormatException)
        {
            return "signature is not base64";
        }

        return verify(AuditHasher.CheckpointMessage(details.Seq, entry.PrevHash.Span), signature)
            ? null
            : "signature does not verify with the node key";
    }

    private static (long Seq, byte[] Hash) ReadHead(DbConnection connection, DbTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1))
            : (0, AuditHasher.Genesis.ToArray());
    }

    private static AuditEntry ReadEntry(DbDataReader reader) => new()
    {
        Seq = reader.GetInt64(0),
        At = UnixTime.FromMs(reader.GetInt64(1)),
        Kind = reader.GetString(2),
        Actor = reader.GetString(3),
        Subject = reader.GetString(4),
        Decision = reader.GetString(5),
        Reason = reader.GetString(6),
        DetailsJson = reader.GetString(7),
        PrevHash = reader.GetFieldValue<byte[]>(8),
        Hash = reader.GetFieldValue<byte[]>(9),
    };

    private static void CheckEntries(IReadOnlyList<AuditEntry> entries)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (Problem(entries[i]) is { } problem)
            {
                throw new ArgumentException($"audit entry {i}: {problem}", nameof(entries));
            }
        }
    }

    /// <summary>Why <paramref name="entry"/> cannot be appended, or null when it can.</summary>
    internal static string? Problem(AuditEntry? entry) => entry switch
    {
        null => "the entry is null",
        _ when !AuditKinds.All.Contains(entry.Kind) => $"unknown kind '{entry.Kind}'",
        { Actor: null } or { Subject: null } or { Decision: null } or { Reason: null } or { DetailsJson: null } =>
            "actor, subject, decision, reason and details must not be null",
        _ => null,
    };
}

/// <summary>Where one append's last entry went the last time its transaction's work ran (see <see cref="AuditLog.AppendAsync(IReadOnlyList{AuditEntry}, AuditAppendAttempt?, CancellationToken)"/>).</summary>
internal sealed class AuditAppendAttempt
{
    /// <summary>The seq of the last entry, when the work ran.</summary>
    public long LastSeq { get; private set; }

    /// <summary>The hash of the last entry; null until the work ran.</summary>
    public byte[]? LastHash { get; private set; }

    internal void Ran(long seq, byte[] hash) => (LastSeq, LastHash) = (seq, hash);
}
