using Npgsql;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// PostgreSQL's "insufficient resources" errors (SQLSTATE class 53) that a gateway answers with RESOURCE_EXHAUSTED
/// instead of an internal error: the statement or connection that met one did nothing (PostgreSQL rolled the write back
/// to its savepoint, or never opened the session), and the same request succeeds once the resource is back.
/// </summary>
internal static class PostgresExhaustion
{
    /// <summary>disk_full: the disk or tablespace holding the data (or a temporary file) is full.</summary>
    public const string DiskFull = "53100";

    /// <summary>The cause in words, or null when <paramref name="ex"/> is not a resource error.</summary>
    public static string? Of(PostgresException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex.SqlState switch
        {
            // PostgreSQL names the file it could not write: a WAL segment being created ("pg_wal/xlogtemp.N") means the
            // volume of the write-ahead log filled up (it PANICs when that happens inside a critical section).
            DiskFull when ex.MessageText.Contains("pg_wal", StringComparison.Ordinal) => "the volume holding its write-ahead log (pg_wal) is full",
            DiskFull => "the disk or tablespace holding its data is full",
            // out_of_memory, too_many_connections, configuration_limit_exceeded, insufficient_resources
            "53200" => "the server is out of memory",
            "53300" => "the server refused a connection: too many connections",
            "53400" => "a server configuration limit was exceeded",
            "53000" => "the server has insufficient resources",
            _ => null,
        };
    }
}
