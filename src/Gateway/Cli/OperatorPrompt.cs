namespace CyberCoop.Gateway.Cli;

/// <summary>
/// Asks the operator a yes/no question, like an SSH host-key confirmation. Only possible when a
/// person is at a terminal; scripts must pass the value (e.g. <c>--pin</c>) instead.
/// </summary>
internal class OperatorPrompt
{
    /// <summary>The process console: interactive when neither stdin nor stdout is redirected.</summary>
    public static OperatorPrompt Console { get; } = new();

    /// <summary>True when a person can answer.</summary>
    public virtual bool IsInteractive => !System.Console.IsInputRedirected && !System.Console.IsOutputRedirected;

    /// <summary>Shows <paramref name="question"/> and returns true only when the operator types exactly <c>yes</c>.</summary>
    public virtual bool Confirm(TextWriter output, string question)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(question);
        output.Write(" Type 'yes' to confirm: ");
        output.Flush();
        var answer = System.Console.In.ReadLine();
        return string.Equals(answer?.Trim(), "yes", StringComparison.Ordinal);
    }
}
