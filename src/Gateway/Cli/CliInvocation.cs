using System.CommandLine;
using System.CommandLine.Invocation;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// Runs a command line: usage errors found by the parser (unknown option, missing required value,
/// value not among the allowed ones) print the parser's message and help and exit with
/// <see cref="CliExitCodes.Usage"/>; everything else exits with what the command returned.
/// </summary>
internal static class CliInvocation
{
    /// <summary>Parses and invokes <paramref name="args"/> against <paramref name="root"/>.</summary>
    public static async Task<int> InvokeAsync(RootCommand root, string[] args, InvocationConfiguration? configuration = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        var parseResult = root.Parse(args);
        var exitCode = await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        return parseResult.Action is ParseErrorAction && exitCode != CliExitCodes.Success ? CliExitCodes.Usage : exitCode;
    }
}
