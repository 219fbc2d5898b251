namespace CyberCoop.Gateway.Cli;

/// <summary>
/// An expected failure of an operator command: its message is printed to stderr as is (no stack
/// trace) and the process exits with <see cref="ExitCode"/>.
/// </summary>
internal sealed class CliException : Exception
{
    public CliException(string message, int exitCode = CliExitCodes.Failure)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public CliException()
        : this("command failed")
    {
    }

    public CliException(string message)
        : this(message, CliExitCodes.Failure)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = CliExitCodes.Failure;
    }

    /// <summary>Exit code of the process.</summary>
    public int ExitCode { get; }

    /// <summary>A usage error (exit code 2): the command line asked for something impossible.</summary>
    public static CliException Usage(string message) => new(message, CliExitCodes.Usage);
}
