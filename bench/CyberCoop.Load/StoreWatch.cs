using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CyberCoop.Load;

/// <summary>
/// Reads a running gateway's store beside it (SQLite read-only: WAL readers never block the writer; PostgreSQL: a
/// connection of its own): how many rows it holds past a mark, when each was committed (updated_at is the receiving
/// gateway's clock at its commit), and how many indicators it accepted from a peer (its persisted per-peer counter,
/// moved in the same transaction as the rows it counts).
/// </summary>
internal sealed class StoreWatch : IDisposable
{
    private readonly DbConnection _connection;

    private StoreWatch(DbConnection connection)
    {
        _connection = connection;
        _connection.Open();
    }

    /// <summary>The store of <paramref name="nation"/>: its PostgreSQL database when its config names one, else its SQLite file.</summary>
    public static StoreWatch Of(NationMaterial nation) =>
        nation.Config.Storage?.Postgres is { } postgres
            ? new StoreWatch(new NpgsqlConnection(new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Pooling = false }.ConnectionString))
            : new StoreWatch(new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = nation.DatabasePath,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
            }.ToString()));

    /// <summary>Largest row id: rows are only appended during a run (all values are new), so it counts them.</summary>
    public long MaxRowId() => Scalar("SELECT COALESCE(MAX(rid), 0) FROM indicators");

    /// <summary>Rows past <paramref name="mark"/>: every new indicator is one row, so more than were sent means a row stored twice.</summary>
    public long CountAfter(long mark) => Scalar("SELECT COUNT(*) FROM indicators WHERE rid > @mark", ("@mark", mark));

    /// <summary>Indicators the store accepted so far from envelopes of <paramref name="peer"/> (peer_counters.indicators_received).</summary>
    public long ReceivedFrom(string peer) => Scalar("SELECT COALESCE(MAX(indicators_received), 0) FROM peer_counters WHERE peer = @peer", ("@peer", peer));

    /// <summary>Waits until at least <paramref name="rows"/> rows past <paramref name="mark"/> are committed.</summary>
    public async Task WaitForAsync(long mark, long rows, TimeSpan timeout, Func<string> diagnostics, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        long seen = 0;
        while (DateTime.UtcNow < deadline)
        {
            seen = MaxRowId() - mark;
            if (seen >= rows)
            {
                return;
            }

            await Task.Delay(10, ct);
        }

        throw new TimeoutException($"the receiving gateway committed {seen} of {rows} indicators within {timeout}\n{diagnostics()}");
    }

    /// <summary>
    /// Throws unless exactly <paramref name="rows"/> rows were added past <paramref name="mark"/> and the peer counter of
    /// <paramref name="peer"/> moved by exactly <paramref name="rows"/> since <paramref name="receivedBefore"/>: nothing lost,
    /// no row stored twice, and no indicator accepted in two envelopes (a change dispatched twice).
    /// </summary>
    public void AssertExactly(long mark, long receivedBefore, string peer, long rows, string phase, Func<string> diagnostics)
    {
        var stored = CountAfter(mark);
        var received = ReceivedFrom(peer) - receivedBefore;
        if (stored != rows || received != rows)
        {
            throw new InvalidOperationException(
                $"{phase}: the receiving gateway holds {stored} new rows and counted {received} indicators received from {peer}; both must be exactly {rows}\n{diagnostics()}");
        }
    }

    /// <summary>(id, committed-at Unix ms) of every row past <paramref name="mark"/>.</summary>
    public List<(string Id, long CommittedMs)> RowsAfter(long mark)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, updated_at FROM indicators WHERE rid > @mark";
        AddParameter(command, "@mark", mark);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, long)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return rows;
    }

    private long Scalar(string sql, params (string Name, object Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            AddParameter(command, name, value);
        }

        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    public void Dispose() => _connection.Dispose();
}
