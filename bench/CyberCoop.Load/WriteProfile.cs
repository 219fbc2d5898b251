using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Load;

/// <summary>
/// Where the bytes go: the SQLite writes an indicator causes at A (agent batch, dispatch commit with the outbox
/// entry and a deliveries row per indicator, outbox deletion on ack) and at B (received envelope), through the
/// gateway's own store, with checkpoints held back so that every WAL frame of every commit stays in the WAL file. Each
/// frame's page number is mapped to the table or index owning that page (SQLite's dbstat virtual table), which gives
/// WAL pages per indicator per stage and structure. The database-file writes of a checkpoint policy (checkpoint once the WAL holds N pages: each distinct
/// page since the previous checkpoint is written once) are computed from the same frame sequence.
/// </summary>
internal static class WriteProfile
{
    private const int PageSize = 4096;
    private const int FrameHeader = 24;
    private const int WalHeader = 32;

    public static async Task<string> RunAsync(int prestored, int bundles, int bundleSize, CancellationToken ct)
    {
        var root = Path.Combine(Path.GetTempPath(), "cybercoop-load", "writes-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        const string a = "spiffe://a.load.cybercoop/gateway/gw-a";
        const string b = "spiffe://b.load.cybercoop/gateway/gw-b";
        const string agent = "spiffe://a.load.cybercoop/agent/sensor-1";
        var options = new StoreOptions { CheckpointPages = int.MaxValue };
        var pathA = Path.Combine(root, "a.db");
        var pathB = Path.Combine(root, "b.db");
        try
        {
            var validator = new SightingValidator(TimeProvider.System);
            var observedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
            if (prestored > 0)
            {
                await using var fill = await GatewayStore.OpenAsync(pathA, TimeProvider.System, options with { DurableAgainstPowerLoss = false }, ct);
                for (var first = 0; first < prestored; first += 5_000)
                {
                    var n = Math.Min(5_000, prestored - first);
                    var batch = LoadData.Batch("writes-stored", first, n, observedAt);
                    await fill.CommitIngestAsync(agent, batch.BatchId.Memory, [.. batch.Sightings.Select(s => validator.Validate(s, a, "sensor-1"))], ct);
                }
            }

            SqliteConnection.ClearAllPools();
            if (prestored > 0)
            {
                File.Copy(pathA, pathB);
            }

            var stats = new Dictionary<(string Stage, string Structure), long>();
            var frames = new Dictionary<string, List<(uint Page, bool Commit)>>(StringComparer.Ordinal) { ["A"] = [], ["B"] = [] };
            await using var storeA = await GatewayStore.OpenAsync(pathA, TimeProvider.System, options, ct);
            await using var storeB = await GatewayStore.OpenAsync(pathB, TimeProvider.System, options, ct);
            var walA = new WalReader(pathA);
            var walB = new WalReader(pathB);
            long cursor = await storeA.GetPeerCursorAsync(b, ct);
            cursor = cursor == 0 ? (await storeA.ReadLocalChangesAsync(0, int.MaxValue, ct)).Select(c => c.Seq).DefaultIfEmpty(0).Max() : cursor;
            const int warmup = 3;
            for (var round = -warmup; round < bundles; round++)
            {
                var batch = LoadData.Batch("writes", (round + (long)warmup) * bundleSize, bundleSize, observedAt);
                var items = batch.Sightings.Select(s => validator.Validate(s, a, "sensor-1")).ToList();
                await storeA.CommitIngestAsync(agent, batch.BatchId.Memory, items, ct);
                Collect(round, "A", "commit agent batch", walA);

                var changes = await storeA.ReadLocalChangesAsync(cursor, bundleSize * 4, ct);
                cursor = changes[^1].Seq;
                var shared = changes.Select(c => c.Indicator).ToList();
                var now = DateTimeOffset.UtcNow;
                var bundle = new Bundle { BundleId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)), Origin = a, CreatedAt = Timestamp.FromDateTimeOffset(now), FirstRecipient = b };
                bundle.Indicators.Add(shared);
                // A signed bundle: the bundle plus a hybrid signature's worth of bytes (Ed25519 + ML-DSA-65).
                var signed = new SignedBundle { Bundle = bundle.ToByteString(), Signature = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(64 + 3309)) }.ToByteArray();
                var envelopeId = RandomNumberGenerator.GetBytes(16);
                var ids = "{\"indicators\":[\"" + string.Join("\",\"", shared.Select(i => i.Id)) + "\"]}";
                await storeA.CommitDispatchAsync(b, cursor, [new OutboxItem(b, envelopeId, signed, shared.Count, now, Origin: a, IndicatorIds: shared.ConvertAll(i => i.Id),
                    IndicatorRowIds: [.. changes.Select(c => c.RowId)])], [], [],
                    [new AuditEntry { Kind = "shared", Actor = a, Subject = b, Decision = "shared", Reason = "bundle", DetailsJson = ids }], withheld: 0, ct);
                Collect(round, "A", "commit outbox + cursor + audit", walA);

                await storeB.CommitReceivedAsync(new ReceivedEnvelope
                {
                    EnvelopeId = envelopeId,
                    Sender = a,
                    Origin = a,
                    BundleId = bundle.BundleId.ToByteArray(),
                    Accepted = shared,
                    Audit = [new AuditEntry { Kind = "received", Actor = a, Subject = "bundle", Decision = "accepted", Reason = "origin", DetailsJson = ids }],
                }, ct);
                Collect(round, "B", "commit received + audit", walB);

                await storeA.CompleteDeliveryAsync(b, envelopeId, shared.Count, delivered: true, ct);
                Collect(round, "A", "delete acked outbox entry", walA);
            }

            return Report(stats, frames, prestored, bundles * bundleSize);

            void Collect(int round, string side, string stage, WalReader wal)
            {
                var appended = wal.ReadNewFrames();
                var owners = wal.Owners();
                foreach (var (page, commit) in appended)
                {
                    if (round < 0)
                    {
                        continue;
                    }

                    frames[side].Add((page, commit));
                    var key = (side + ": " + stage, owners.TryGetValue(page, out var name) ? name : "(overflow pages: large blobs; free list)");
                    stats[key] = stats.GetValueOrDefault(key) + 1;
                }
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }

    private static string Report(Dictionary<(string Stage, string Structure), long> stats, Dictionary<string, List<(uint Page, bool Commit)>> frames, int prestored, int indicators)
    {
        var s = new StringBuilder();
        string Inv(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);
        s.AppendLine(Inv($"WAL pages per 1,000 indicators by stage and table/index ({prestored:N0} stored before, {indicators:N0} measured; a page is {PageSize + FrameHeader:N0} bytes in the WAL):"));
        s.AppendLine();
        s.AppendLine("| Stage | Table or index | WAL pages / 1,000 indicators | KB / indicator |");
        s.AppendLine("|---|---|---|---|");
        foreach (var ((stage, structure), pages) in stats.OrderBy(x => x.Key.Stage, StringComparer.Ordinal).ThenByDescending(x => x.Value))
        {
            s.AppendLine(Inv($"| {stage} | {structure} | {pages * 1000.0 / indicators:F0} | {pages * (PageSize + FrameHeader) / 1000.0 / indicators:F2} |"));
        }

        s.AppendLine();
        s.AppendLine("Database-file writes of a checkpoint policy (checkpoint at the first commit with the WAL at or above N pages; each distinct page once per checkpoint), KB per indicator:");
        s.AppendLine();
        s.AppendLine("| Node | WAL | N = 1,000 (SQLite default) | N = 4,096 | N = 16,384 | N = 65,536 |");
        s.AppendLine("|---|---|---|---|---|---|");
        foreach (var (side, list) in frames)
        {
            var wal = list.Count * (PageSize + FrameHeader) / 1000.0 / indicators;
            var cells = new[] { 1_000, 4_096, 16_384, 65_536 }.Select(n => Inv($"{CheckpointPages(list, n) * PageSize / 1000.0 / indicators:F2}"));
            s.AppendLine(Inv($"| {side} | {wal:F2} | {string.Join(" | ", cells)} |"));
        }

        return s.ToString();
    }

    /// <summary>Pages a checkpoint policy writes into the database file over the frame sequence.</summary>
    private static long CheckpointPages(List<(uint Page, bool Commit)> frames, int threshold)
    {
        long written = 0;
        var inWal = 0;
        var distinct = new HashSet<uint>();
        foreach (var (page, commit) in frames)
        {
            inWal++;
            distinct.Add(page);
            if (commit && inWal >= threshold)
            {
                written += distinct.Count;
                distinct.Clear();
                inWal = 0;
            }
        }

        return written + distinct.Count;
    }

    /// <summary>
    /// Reads the frames appended to a WAL file since the last call, and who owns each page: the B-trees are walked from
    /// their root pages (sqlite_schema) through interior pages, reading each page's newest copy (WAL, else the file).
    /// Overflow pages (large blobs: the outbox's bundles, long audit details) and free-list pages are not walked.
    /// </summary>
    private sealed class WalReader(string databasePath)
    {
        private readonly Dictionary<uint, long> _latest = [];
        private long _offset = WalHeader;

        public List<(uint Page, bool Commit)> ReadNewFrames()
        {
            var result = new List<(uint, bool)>();
            using var file = new FileStream(databasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var header = new byte[FrameHeader];
            file.Position = _offset;
            while (file.Position + FrameHeader + PageSize <= file.Length)
            {
                var frame = file.Position;
                file.ReadExactly(header);
                var page = BinaryPrimitives.ReadUInt32BigEndian(header);
                result.Add((page, BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)) != 0));
                _latest[page] = frame + FrameHeader;
                file.Position += PageSize;
            }

            _offset = file.Position;
            return result;
        }

        public Dictionary<uint, string> Owners()
        {
            var roots = new List<(string Name, uint Root)>();
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    roots.Add((reader.GetString(0), (uint)reader.GetInt64(1)));
                }
            }

            var owners = new Dictionary<uint, string> { [1] = "sqlite_schema" };
            using var db = new FileStream(databasePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var wal = new FileStream(databasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[PageSize];
            foreach (var (name, root) in roots)
            {
                var pending = new Stack<uint>();
                pending.Push(root);
                while (pending.Count > 0)
                {
                    var page = pending.Pop();
                    var (source, offset) = _latest.TryGetValue(page, out var at) ? (wal, at) : (db, (page - 1L) * PageSize);
                    if (offset + PageSize > source.Length)
                    {
                        continue;
                    }

                    source.Position = offset;
                    source.ReadExactly(buffer);
                    var h = page == 1 ? 100 : 0;
                    var type = buffer[h];
                    var interior = type is 2 or 5;
                    owners[page] = name + (interior ? " (interior)" : "");
                    if (!interior)
                    {
                        continue;
                    }

                    var cells = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(h + 3));
                    pending.Push(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(h + 8)));
                    for (var i = 0; i < cells; i++)
                    {
                        var cell = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(h + 12 + (2 * i)));
                        pending.Push(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(cell)));
                    }
                }
            }

            return owners;
        }
    }
}
