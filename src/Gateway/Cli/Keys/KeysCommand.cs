using CyberCoop.Crypto;
using System.CommandLine;
using System.Globalization;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Cli.Keys;

/// <summary><c>keys rotate</c> and <c>keys list</c>: the node's content keys and their schedule.</summary>
internal static class KeysCommand
{
    /// <summary>Builds the <c>keys</c> command group.</summary>
    public static Command Create(TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        return new Command("keys", "Manage the node's content keys (end-to-end signing and KEM keys of every suite).")
        {
            Rotate(clock),
            List(clock),
        };
    }

    private static Command Rotate(TimeProvider clock)
    {
        var config = new Option<string>("--config") { Description = "The gateway's config file.", Required = true };
        var now = new Option<bool>("--now")
        {
            Description = "EMERGENCY (suspected compromise of the keys folder): replace every content key at once. The old " +
                "signing keys are withdrawn (peers stop accepting signatures made with them as soon as they refresh), " +
                "pending keys are destroyed, and peers that still seal to the old KEM keys are refused and re-send " +
                "after fetching the new keys. Nothing queued is lost: this node re-signs its own queued bundles.",
        };
        var rotate = new Command(
            "rotate",
            "Schedule a rotation of the node's content keys (signing and KEM, every suite). New key pairs are written to " +
            "<keys>/pending/ and announced with the trust bundle at once, with a not-before of now + " +
            "node.keyRotation.announceAheadIntervals x the refresh hint of the domain's trust bundle (default 3 x 300 s), " +
            "so every peer has fetched them before anyone uses them. At that time this node starts signing with the new keys and peers " +
            "start sealing to them; the old keys move to <keys>/retired/ and keep opening and verifying for " +
            "node.keyRotation.retiredGraceSeconds (default 7 days). The schedule survives restarts. A running node is " +
            "asked to reload; otherwise the new keys are announced at its next start. Refused while a rotation is " +
            "already scheduled. With --now: the emergency path, every key replaced immediately." +
            Environment.NewLine + "Example: keys rotate --config gateway.json" +
            Environment.NewLine + "Example (suspected compromise): keys rotate --config gateway.json --now")
        {
            config, now,
        };
        CliAction.Set(rotate, async (parse, io, cancellationToken) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var node = loaded.Config.Node;
            var keysDirectory = KeysDirectory(loaded);
            var at = clock.GetUtcNow();
            IReadOnlyList<string> written;
            if (parse.GetValue(now))
            {
                written = ContentKeyStore.RotateNow(keysDirectory, at);
                if (written.Count == 0)
                {
                    throw new CliException($"no content keys found in '{keysDirectory}' to rotate");
                }

                await io.Output.WriteLineAsync("EMERGENCY rotation: new keys are active now; the old signing keys are withdrawn").ConfigureAwait(false);
            }
            else
            {
                // Peers fetch this domain's bundle at least every refresh hint it carries (and every time they reconnect).
                var hint = RefreshHint(loaded, clock);
                var activation = at + (node.KeyRotation.AnnounceAheadIntervals * hint);
                try
                {
                    written = ContentKeyStore.Schedule(keysDirectory, at, activation);
                }
                catch (InvalidOperationException ex)
                {
                    throw new CliException(ex.Message);
                }

                if (written.Count == 0)
                {
                    throw new CliException($"no content keys found in '{keysDirectory}' to rotate");
                }

                var grace = TimeSpan.FromSeconds(node.KeyRotation.RetiredGraceSeconds);
                await io.Output.WriteLineAsync(
                    $"scheduled: new keys are announced now and become active at {Time(activation)} " +
                    $"({node.KeyRotation.AnnounceAheadIntervals} x the trust bundle's {(int)hint.TotalSeconds} s refresh hint); " +
                    $"the current keys retire then and stay usable until {Time(activation + grace)}").ConfigureAwait(false);
            }

            foreach (var file in written)
            {
                await io.Output.WriteLineAsync("new key " + file).ConfigureAwait(false);
            }

            var reload = await AdminSocketClient.TryReloadAsync(loaded.Resolve(node.AdminSocket), cancellationToken).ConfigureAwait(false);
            if (reload is null)
            {
                await io.Output.WriteLineAsync("no gateway is running: the new keys are announced at its next start").ConfigureAwait(false);
                return CliExitCodes.Success;
            }

            foreach (var message in reload.Messages)
            {
                await io.Output.WriteLineAsync((reload.Applied ? "reloaded: " : "reload refused: ") + message).ConfigureAwait(false);
            }

            return reload.Applied ? CliExitCodes.Success : CliExitCodes.Failure;
        });
        return rotate;
    }

    private static Command List(TimeProvider clock)
    {
        var config = new Option<string>("--config") { Description = "The gateway's config file.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the keys as a JSON array (suite, kind, keyId, state, withdrawn, notBefore, notAfter, file)." };
        var list = new Command(
            "list",
            "List the node's content keys from its keys folder (no running node needed): suite, kind (signing or kem), " +
            "key id, state (pending, active, retired) at this moment, not-before and not-after (open-ended keys show '-'; " +
            "a retired key's not-after ends its grace period), and the file." +
            Environment.NewLine + "Example: keys list --config gateway.json --json")
        {
            config, json,
        };
        list.Aliases.Add("show");
        CliAction.Set(list, (parse, io, _) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var keysDirectory = KeysDirectory(loaded);
            var now = clock.GetUtcNow();
            var rows = new List<IReadOnlyList<string>>();
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using var writer = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Indented = true });
            writer.WriteStartArray();
            foreach (var file in ContentKeyStore.Scan(keysDirectory, TimeSpan.FromSeconds(loaded.Config.Node.KeyRotation.RetiredGraceSeconds))
                .OrderBy(f => f.Suite).ThenBy(f => f.Kind).ThenBy(f => f.NotBefore))
            {
                string keyId;
                try
                {
                    using var key = NodeContentKey.Load(file);
                    keyId = key.PublicKey.KeyIdHex;
                }
                catch (CyberCoop.Crypto.CryptoFormatException ex)
                {
                    throw new CliException(ex.Message);
                }

                var state = file.StateAt(now);
                writer.WriteStartObject();
                writer.WriteString("suite", Suites.Name(file.Suite));
                writer.WriteString("kind", file.Kind == ContentKeyKind.Signing ? "signing" : "kem");
                writer.WriteString("keyId", keyId);
                writer.WriteString("state", state.ToString().ToLowerInvariant());
                writer.WriteBoolean("withdrawn", file.Withdrawn);
                if (file.NotBefore == DateTimeOffset.UnixEpoch)
                {
                    writer.WriteNull("notBefore");
                }
                else
                {
                    writer.WriteString("notBefore", file.NotBefore);
                }

                if (file.NotAfter is { } end)
                {
                    writer.WriteString("notAfter", end);
                }
                else
                {
                    writer.WriteNull("notAfter");
                }

                writer.WriteString("file", Path.GetRelativePath(keysDirectory, file.Path));
                writer.WriteEndObject();
                rows.Add(
                [
                    Suites.Name(file.Suite),
                    file.Kind == ContentKeyKind.Signing ? "signing" : "kem",
                    keyId,
                    state.ToString().ToLowerInvariant() + (file.Withdrawn ? " (withdrawn)" : ""),
                    file.NotBefore == DateTimeOffset.UnixEpoch ? "-" : Time(file.NotBefore),
                    file.NotAfter is { } notAfter ? Time(notAfter) : "-",
                    Path.GetRelativePath(keysDirectory, file.Path),
                ]);
            }

            if (rows.Count == 0)
            {
                throw new CliException($"no content keys in '{keysDirectory}': start the node once to create them");
            }

            writer.WriteEndArray();
            writer.Flush();
            if (parse.GetValue(json))
            {
                io.Output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
            }
            else
            {
                io.WriteTable(["suite", "kind", "key id", "state", "not before", "not after", "file"], rows);
            }

            return Task.FromResult(CliExitCodes.Success);
        });
        return list;
    }

    /// <summary>The refresh hint of the domain's own trust bundle (node.trustBundle), the default when it carries none.</summary>
    private static TimeSpan RefreshHint(LoadedConfig loaded, TimeProvider clock)
    {
        var hint = CyberCoop.Gateway.Trust.OwnTrustBundle.Load(loaded, clock).RefreshHint;
        return hint > TimeSpan.Zero ? hint : TimeSpan.FromSeconds(TrustBundleVerifier.DefaultRefreshSeconds);
    }

    private static string KeysDirectory(LoadedConfig loaded)
    {
        var keysDirectory = loaded.Resolve(loaded.Config.Node.KeysDirectory);
        if (!Directory.Exists(keysDirectory))
        {
            throw new CliException($"no keys folder at '{keysDirectory}' (node.keysDirectory): start the node once to create its keys");
        }

        return keysDirectory;
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
