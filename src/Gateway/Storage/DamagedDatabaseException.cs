namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The node's database file cannot be trusted (truncated, overwritten, empty, missing where it existed before, or
/// failing SQLite's integrity check): the node refuses to serve from it. The message is one line that names the file,
/// what is wrong and what to do.
/// </summary>
internal sealed class DamagedDatabaseException : Exception
{
    /// <summary>What the operator is told to do (the remedy is the same whatever the damage).</summary>
    public const string Remedy =
        "The node will not use it: stop the node if it runs, move the file (with its -wal and -shm files) aside and restore " +
        "the latest backup (see 'Backup and restore' in docs/operator-guide.md).";

    public DamagedDatabaseException(string path, string problem)
        : this(path, problem, null)
    {
    }

    public DamagedDatabaseException(string path, string problem, Exception? innerException)
        : base($"the database '{path}' is damaged: {problem}. {Remedy}", innerException)
    {
        DatabasePath = path;
        Problem = problem;
    }

    public DamagedDatabaseException()
        : this("(unknown)", "damaged")
    {
    }

    public DamagedDatabaseException(string message)
        : base(message)
    {
        DatabasePath = "(unknown)";
        Problem = message;
    }

    /// <summary>Full path of the database file.</summary>
    public string DatabasePath { get; } = "(unknown)";

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; } = string.Empty;
}
