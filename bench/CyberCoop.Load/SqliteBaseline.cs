using System.Diagnostics;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Load;

/// <summary>
/// Baseline 1: the same indicator rows inserted with plain Microsoft.Data.Sqlite, one transaction per bundle-sized
/// batch, one prepared statement, into a table shaped like the gateway's (rowid table, text id, unique index on the
/// id's 16-byte binary key, partial local_seq index: schema version 6) with the gateway's pragmas (WAL,
/// synchronous=FULL, 32 MiB cache, and a checkpoint every <see cref="StoreOptions.CheckpointPages"/> WAL pages as the
/// gateway's background checkpointer does, here inline through SQLite's auto-checkpoint). No validation, merge, audit
/// or crypto: the storage ceiling for the same rows on the same disk.
/// </summary>
internal static class SqliteBaseline
{
    public static Rate Run(string directory, IReadOnlyList<Indicator> indicators, int batchSize)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "baseline.db");
        var rows = indicators.Select(i => (Key: IndicatorKey.Of(i.Id), i.Id, Type: (long)i.Type, i.Value, Tlp: (long)i.Tlp, Confidence: (long)i.Confidence, Blob: i.ToByteArray())).ToList();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        Execute(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY; " +
            $"PRAGMA wal_autocheckpoint = {new StoreOptions().CheckpointPages};");
        Execute(connection,
            """
            CREATE TABLE indicators (
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
            CREATE UNIQUE INDEX ux_indicators_id_key ON indicators(id_key);
            CREATE INDEX ix_indicators_local_seq ON indicators(local_seq) WHERE local_seq IS NOT NULL;
            """);

        var cpu = ProcStat.Self();
        var io = ProcStat.Io("self");
        var stopwatch = Stopwatch.StartNew();
        long seq = 0;
        for (var start = 0; start < rows.Count; start += batchSize)
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText =
                "INSERT INTO indicators (id_key, id, type, value, tlp, confidence, updated_at, blob, local_seq) VALUES ($key, $id, $type, $value, $tlp, $confidence, $now, $blob, $seq)";
            var pKey = insert.Parameters.Add(new SqliteParameter("$key", DBNull.Value));
            var pId = insert.Parameters.Add("$id", SqliteType.Text);
            var pType = insert.Parameters.Add("$type", SqliteType.Integer);
            var pValue = insert.Parameters.Add("$value", SqliteType.Text);
            var pTlp = insert.Parameters.Add("$tlp", SqliteType.Integer);
            var pConfidence = insert.Parameters.Add("$confidence", SqliteType.Integer);
            var pNow = insert.Parameters.Add("$now", SqliteType.Integer);
            var pBlob = insert.Parameters.Add("$blob", SqliteType.Blob);
            var pSeq = insert.Parameters.Add("$seq", SqliteType.Integer);
            insert.Prepare();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = start; i < Math.Min(start + batchSize, rows.Count); i++)
            {
                var row = rows[i];
                pKey.Value = row.Key;
                pId.Value = row.Id;
                pType.Value = row.Type;
                pValue.Value = row.Value;
                pTlp.Value = row.Tlp;
                pConfidence.Value = row.Confidence;
                pNow.Value = now;
                pBlob.Value = row.Blob;
                pSeq.Value = ++seq;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        stopwatch.Stop();
        return new Rate(rows.Count, stopwatch.Elapsed, ProcStat.Self() - cpu, ProcStat.Io("self") - io);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>Items moved in a time.</summary>
internal readonly record struct Rate(long Items, TimeSpan Elapsed, TimeSpan Cpu = default, IoCounters Io = default)
{
    public double PerSecond => Elapsed > TimeSpan.Zero ? Items / Elapsed.TotalSeconds : 0;

    /// <summary>CPU microseconds per item (when measured).</summary>
    public double CpuPerItem => Items > 0 ? Cpu.TotalMicroseconds / Items : 0;
}
