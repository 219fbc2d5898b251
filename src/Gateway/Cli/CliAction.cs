using System.CommandLine;
using System.Security.Cryptography;
using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// Binds a command to its handler and turns expected failures into one clear stderr message and an
/// exit code (1 for failures, 2 for usage errors). Unexpected exceptions still propagate.
/// </summary>
internal static class CliAction
{
    /// <summary>Sets <paramref name="handler"/> as the action of <paramref name="command"/>.</summary>
    public static void Set(Command command, Func<ParseResult, CliIo, CancellationToken, Task<int>> handler, OperatorPrompt? prompt = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(handler);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var io = CliIo.From(parseResult, prompt ?? OperatorPrompt.Console);
            try
            {
                return await handler(parseResult, io, cancellationToken).ConfigureAwait(false);
            }
            catch (CliException ex)
            {
                await io.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return ex.ExitCode;
            }
            catch (Storage.StoreUnavailableException ex)
            {
                await io.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return CliExitCodes.Failure;
            }
            catch (Storage.DamagedDatabaseException ex)
            {
                await io.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return CliExitCodes.Failure;
            }
            catch (GatewayConfigException ex)
            {
                await io.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return CliExitCodes.Failure;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or FormatException)
            {
                await io.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return CliExitCodes.Failure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await io.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
                return CliExitCodes.Failure;
            }
        });
    }
}
