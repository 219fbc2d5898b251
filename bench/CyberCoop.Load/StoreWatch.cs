using Microsoft.Data.Sqlite;

namespace CyberCoop.Load;

/// <summary>
/// Reads a running gateway's SQLite file read-only (WAL readers never block the writer): how many rows it holds past
/// a mark, and when each was committed (updated_at is the receiving gateway's clock at its commit).
/// </summary>
internal sealed class StoreWatch : IDisposable
{
    private readonly SqliteConnection _connection;

    public StoreWatch(string databasePath)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        _connection.Open();
    }

    /// <summary>Largest row id: rows are only appended during a run (all values are new), so it counts them.</summary>
    public long MaxRowId()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(rid), 0) FROM indicators";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Waits until at least <paramref name="rows"/> rows past <paramref name="mark"/> are committed; the elapsed time when they were.</summary>
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

    /// <summary>(id, committed-at Unix ms) of every row past <paramref name="mark"/>.</summary>
    public List<(string Id, long CommittedMs)> RowsAfter(long mark)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, updated_at FROM indicators WHERE rid > $mark";
        command.Parameters.AddWithValue("$mark", mark);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, long)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return rows;
    }

    public void Dispose() => _connection.Dispose();
}
