using System.CommandLine;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Cli.Keys;

/// <summary><c>keys rotate</c>: replaces the node's content keys without downtime.</summary>
internal static class KeysCommand
{
    /// <summary>Builds the <c>keys</c> command group.</summary>
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "The gateway's config file.", Required = true };
        var rotate = new Command(
            "rotate",
            "Rotate the node's content keys (signing and KEM, every suite). The current keys move to <keys>/retired/ and stay " +
            "usable for opening envelopes peers sealed before they refreshed, and are announced so older signatures still " +
            "verify; new keys are announced in the trust bundle at once. A running node is asked to reload; otherwise the " +
            "new keys apply at the next start." +
            Environment.NewLine + "Example: keys rotate --config gateway.json")
        {
            config,
        };
        CliAction.Set(rotate, async (parse, io, cancellationToken) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var keysDirectory = loaded.Resolve(loaded.Config.Node.KeysDirectory);
            if (!Directory.Exists(keysDirectory))
            {
                throw new CliException($"no keys folder at '{keysDirectory}' (node.keysDirectory): start the node once to create its keys");
            }

            var written = NodeIdentity.RotateKeys(keysDirectory, TimeProvider.System);
            if (written.Count == 0)
            {
                throw new CliException($"no content keys found in '{keysDirectory}' to rotate");
            }

            foreach (var file in written)
            {
                await io.Output.WriteLineAsync("new key " + file).ConfigureAwait(false);
            }

            var reload = await AdminSocketClient.TryReloadAsync(loaded.Resolve(loaded.Config.Node.AdminSocket), cancellationToken).ConfigureAwait(false);
            if (reload is null)
            {
                await io.Output.WriteLineAsync("no gateway is running: the new keys apply at its next start").ConfigureAwait(false);
                return CliExitCodes.Success;
            }

            foreach (var message in reload.Messages)
            {
                await io.Output.WriteLineAsync((reload.Applied ? "reloaded: " : "reload refused: ") + message).ConfigureAwait(false);
            }

            return reload.Applied ? CliExitCodes.Success : CliExitCodes.Failure;
        });
        return new Command("keys", "Manage the node's content keys (end-to-end signing and encryption).") { rotate };
    }
}
