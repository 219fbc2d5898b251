using System.CommandLine;
using System.Globalization;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Cli.Audit;

/// <summary><c>audit</c>: verify, tail and export the node's hash-chained audit log.</summary>
internal static class AuditCommand
{
    private static readonly TimeSpan s_followInterval = TimeSpan.FromSeconds(1);

    /// <summary>Builds the <c>audit</c> command group.</summary>
    public static Command Create(TimeProvider time)
    {
        var audit = new Command(
            "audit",
            "Verify, tail or export the node's append-only audit log (every sharing decision, rejection, config change and admin call)." +
            Environment.NewLine + "Example: audit verify --config gateway.json");
        audit.Subcommands.Add(Verify(time));
        audit.Subcommands.Add(Tail(time));
        audit.Subcommands.Add(Export(time));
        return audit;
    }

    private static Option<string> ConfigOption() =>
        new("--config") { Description = "The gateway's config file (its node.storage is the database read).", Required = true };

    private static Command Verify(TimeProvider time)
    {
        var config = ConfigOption();
        var command = new Command(
            "verify",
            "Check the database with SQLite's full integrity_check (every page and index; exit 1 and the file named when damaged), " +
            "then the whole audit chain: finds any modified, deleted, reordered or inserted entry and names the first one; exit 1 when broken." +
            Environment.NewLine + "Example: audit verify --config gateway.json")
        {
            config,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            using var keys = CheckpointKeys.Load(loaded.Resolve(loaded.Config.Node.KeysDirectory));
            var store = await OpenAsync(loaded, time, cancellationToken).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                await store.CheckIntegrityAsync(cancellationToken).ConfigureAwait(false);
                await io.Output.WriteLineAsync(store.IsPostgres
                    ? $"database OK: {store.Path} answers and every row of indicators, audit and outbox reads back"
                    : $"database OK: {store.Path} passes SQLite's integrity_check").ConfigureAwait(false);
                var result = await store.Audit.VerifyAsync(keys.Count == 0 ? null : keys.Verify, cancellationToken).ConfigureAwait(false);
                if (!result.Ok)
                {
                    await io.Error.WriteLineAsync($"audit log BROKEN at entry seq {result.FirstBadSeq}: {result.Problem}").ConfigureAwait(false);
                    await io.Error.WriteLineAsync($"{result.EntriesChecked} entries read before the problem; everything from seq {result.FirstBadSeq} on is untrusted").ConfigureAwait(false);
                    return CliExitCodes.Failure;
                }

                await io.Output.WriteLineAsync($"audit log OK: {result.EntriesChecked} entries, hash chain intact, {result.CheckpointsVerified} checkpoints").ConfigureAwait(false);
                await io.Output.WriteLineAsync(result.SignaturesChecked
                    ? $"checkpoint signatures verified with the node's signing keys ({keys.Count} in {keys.Directory}); {result.UncheckpointedEntries} entries are after the last checkpoint"
                    : $"checkpoint signatures NOT verified: no signing keys in {keys.Directory}; {result.UncheckpointedEntries} entries are after the last checkpoint").ConfigureAwait(false);
                return CliExitCodes.Success;
            }
        });
        return command;
    }

    private static Command Tail(TimeProvider time)
    {
        var config = ConfigOption();
        var count = new Option<int>("-n", "--lines") { Description = "How many of the newest entries to print.", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new entries as the node writes them (Ctrl-C stops)." };
        var command = new Command(
            "tail",
            "Print the newest audit entries (seq, time, kind, decision, actor, subject, reason), optionally following new ones." +
            Environment.NewLine + "Example: audit tail --config gateway.json -n 50 --follow")
        {
            config, count, follow,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var lines = parse.GetValue(count);
            if (lines is < 0 or > 1_000_000)
            {
                throw CliException.Usage($"-n {lines} must be between 0 and 1000000");
            }

            var store = await OpenAsync(parse.GetValue(config)!, time, cancellationToken).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                long last = 0;
                await foreach (var entry in store.Audit.TailAsync(lines, cancellationToken).ConfigureAwait(false))
                {
                    await io.Output.WriteLineAsync(Format(entry)).ConfigureAwait(false);
                    last = entry.Seq;
                }

                if (!parse.GetValue(follow))
                {
                    return CliExitCodes.Success;
                }

                if (last == 0)
                {
                    // Nothing printed (-n 0 or an empty log): follow from the current head.
                    last = await store.Audit.CountAsync(cancellationToken).ConfigureAwait(false);
                }
                using var timer = new PeriodicTimer(s_followInterval);
                try
                {
                    while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                    {
                        var head = await store.Audit.CountAsync(cancellationToken).ConfigureAwait(false);
                        if (head <= last)
                        {
                            continue;
                        }

                        await foreach (var entry in store.Audit.TailAsync((int)Math.Min(head - last, int.MaxValue), cancellationToken).ConfigureAwait(false))
                        {
                            await io.Output.WriteLineAsync(Format(entry)).ConfigureAwait(false);
                            last = Math.Max(last, entry.Seq);
                        }

                        await io.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return CliExitCodes.Success;
                }

                return CliExitCodes.Success;
            }
        });
        return command;
    }

    private static Command Export(TimeProvider time)
    {
        var config = ConfigOption();
        var output = new Option<string>("--out") { Description = "JSON Lines file to write (must not exist).", Required = true };
        var command = new Command(
            "export",
            "Write every audit entry, with its hashes, as JSON Lines, for archiving or for another party to check." +
            Environment.NewLine + "Example: audit export --config gateway.json --out audit-2026-11.jsonl")
        {
            config, output,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var target = Path.GetFullPath(parse.GetValue(output)!);
            if (File.Exists(target) || Directory.Exists(target))
            {
                throw new CliException($"'{target}' already exists; refusing to overwrite it");
            }

            var store = await OpenAsync(parse.GetValue(config)!, time, cancellationToken).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                var temporary = target + ".tmp";
                try
                {
                    var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                    await using (file.ConfigureAwait(false))
                    {
                        await store.Audit.ExportAsync(file, cancellationToken).ConfigureAwait(false);
                        file.Flush(flushToDisk: true);
                    }

                    File.Move(temporary, target);
                }
                finally
                {
                    File.Delete(temporary);
                }

                var entries = await store.Audit.CountAsync(cancellationToken).ConfigureAwait(false);
                await io.Output.WriteLineAsync($"exported {entries} audit entries to {target}").ConfigureAwait(false);
                return CliExitCodes.Success;
            }
        });
        return command;
    }

    /// <summary>Opens the node's database read-mostly; refuses to create one where none exists.</summary>
    internal static Task<GatewayStore> OpenAsync(string configPath, TimeProvider time, CancellationToken cancellationToken) =>
        OpenAsync(ConfigEdit.Load(configPath), time, cancellationToken);

    private static async Task<GatewayStore> OpenAsync(LoadedConfig loaded, TimeProvider time, CancellationToken cancellationToken)
    {
        if (StoreOpener.IsPostgres(loaded))
        {
            return await StoreOpener.OpenAsync(loaded, time, cancellationToken).ConfigureAwait(false);
        }

        var database = loaded.Resolve(loaded.Config.Node.Storage);
        if (!File.Exists(database))
        {
            throw new CliException($"no database at '{database}' (node.storage); has this node run yet?");
        }

        try
        {
            return await GatewayStore.OpenAsync(database, time, cancellationToken).ConfigureAwait(false);
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            throw new CliException($"cannot open the database '{database}': {ex.Message}");
        }
    }

    private static string Format(AuditEntry entry) =>
        string.Join(
            "  ",
            entry.Seq.ToString(CultureInfo.InvariantCulture),
            entry.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            entry.Kind,
            entry.Decision,
            entry.Actor,
            entry.Subject,
            entry.Reason).TrimEnd();
}
