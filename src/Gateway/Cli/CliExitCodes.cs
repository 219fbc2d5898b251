namespace CyberCoop.Gateway.Cli;

/// <summary>Process exit codes of the operator commands.</summary>
internal static class CliExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The command failed for a reason it explained on stderr (bad file, refused pin, no node, ...).</summary>
    public const int Failure = 1;

    /// <summary>The command line itself was wrong (unknown value, conflicting options).</summary>
    public const int Usage = 2;
}
