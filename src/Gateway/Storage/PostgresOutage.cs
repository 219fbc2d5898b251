using System.Net.Sockets;
using Npgsql;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The PostgreSQL server cannot be reached or does not serve yet: it was stopped or restarted, crashed (a backend
/// PANICked, e.g. because the volume holding pg_wal is full, and the server terminated every session), is in crash
/// recovery or shutting down, or the connection to it broke. A gateway answers a call that met this with UNAVAILABLE
/// instead of an internal error: nothing of the call was acknowledged, and the same call succeeds once the server is
/// back (the store's connections reconnect by themselves; see <see cref="PostgresDatabase"/>).
/// </summary>
internal static class PostgresOutage
{
    /// <summary>The outage in words, or null when <paramref name="ex"/> (or an exception it wraps) is not one.</summary>
    public static string? Of(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    // The server answered: only these answers mean it is going away or not serving yet.
                    return pg.SqlState switch
                    {
                        "57P01" => $"the server is shutting down and closed the session (SQLSTATE 57P01: {pg.MessageText})",
                        "57P02" => $"the server crashed and closed every session to recover, e.g. because the volume holding its WAL (pg_wal) is full (SQLSTATE 57P02: {pg.MessageText})",
                        "57P03" => $"the server is starting up, in recovery or shutting down and takes no connections yet (SQLSTATE 57P03: {pg.MessageText})",
                        _ when pg.SqlState.StartsWith("08", StringComparison.Ordinal) => $"the connection failed (SQLSTATE {pg.SqlState}: {pg.MessageText})",
                        _ => null,
                    };
                case NpgsqlException npgsql when npgsql.InnerException is SocketException or IOException or TimeoutException:
                    // Connection refused (server down), reset or closed mid-statement (server crashed), or no answer.
                    return $"the connection to the server failed or was lost ({npgsql.Message.TrimEnd('.')}: {npgsql.InnerException.Message.TrimEnd('.')})";
            }
        }

        return null;
    }
}
