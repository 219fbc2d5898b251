using System.Diagnostics;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Load;

/// <summary>
/// Fills both gateways' databases before they start, through the gateway's own store (validation, ids, the real
/// schema): A's agent ingests <c>count</c> indicators; B gets a copy of that file (same size and shape as if it had
/// received them). Each side's cursor for the other peer is set past these rows, as after a long-running exchange,
/// so the measured traffic is only the new load.
/// </summary>
internal static class Prepopulation
{
    private const int Batch = 5_000;

    public static async Task<TimeSpan> RunAsync(LoadFederation federation, int count, TextWriter log, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        var a = federation.A;
        var agentId = $"spiffe://{a.Domain}/agent/sensor-1";
        await using (var store = await GatewayStore.OpenAsync(a.DatabasePath, TimeProvider.System, new StoreOptions { DurableAgainstPowerLoss = false }, ct))
        {
            var validator = new SightingValidator(TimeProvider.System);
            var observedAt = DateTimeOffset.UtcNow.AddMinutes(-30);
            Task<List<ValidationOutcome>> Validate(long first, int n) => Task.Run(() =>
            {
                var batch = LoadData.Batch("stored", first, n, observedAt);
                return batch.Sightings.Select(s => validator.Validate(s, a.GatewayId, "sensor-1")).ToList();
            }, ct);

            // Validate the next batch while the current one commits.
            var next = Validate(0, Math.Min(Batch, count));
            for (long first = 0; first < count; first += Batch)
            {
                var items = await next;
                var following = first + Batch;
                if (following < count)
                {
                    next = Validate(following, (int)Math.Min(Batch, count - following));
                }

                var commit = await store.CommitIngestAsync(agentId, Guid.NewGuid().ToByteArray(), items, ct);
                if (commit.Results.Any(r => r.Outcome != Contracts.V1.ItemOutcome.Accepted))
                {
                    throw new InvalidOperationException("pre-population: a generated indicator was not accepted as new");
                }

                if (first % 200_000 == 0 && first > 0)
                {
                    await log.WriteLineAsync($"  pre-populated {first:N0} of {count:N0} ({stopwatch.Elapsed.TotalSeconds:F0} s)");
                }
            }
        }

        SqliteConnection.ClearAllPools();
        File.Copy(a.DatabasePath, federation.B.DatabasePath, overwrite: true);
        SetCursor(a.DatabasePath, federation.B.GatewayId);
        SetCursor(federation.B.DatabasePath, a.GatewayId);
        SqliteConnection.ClearAllPools();
        return stopwatch.Elapsed;
    }

    private static void SetCursor(string path, string peer)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText =
            "INSERT INTO peer_cursors (peer, seq) SELECT $peer, COALESCE(MAX(local_seq), 0) FROM indicators WHERE true " +
            "ON CONFLICT (peer) DO UPDATE SET seq = excluded.seq";
        command.Parameters.AddWithValue("$peer", peer);
        command.ExecuteNonQuery();
    }
}
