using System.CommandLine;
using System.Globalization;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Cli;

/// <summary><c>backup --config gateway.json --out FILE</c>: an online, consistent, verified copy of the node's database.</summary>
internal static class BackupCommand
{
    public static Command Create(TimeProvider time)
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The node's gateway.json (its node.storage is copied).", Required = true };
        var output = new Option<FileInfo>("--out", "-o") { Description = "The backup file to write (must not exist).", Required = true };
        var command = new Command(
            "backup",
            "Copy the node's database to one self-contained SQLite file with SQLite's backup API: consistent as of one commit, " +
            "safe while the node runs and ingests (run it as the node's user). The copy is checked with SQLite's full " +
            "integrity_check before it gets its name. Restore: stop the node, put the file at node.storage (remove the old " +
            "-wal and -shm files), start the node (docs/operator-guide.md, 'Backup and restore').\n\n" +
            "With storage.postgres the store is dumped with PostgreSQL's pg_dump (custom format, one snapshot, safe while the " +
            "gateway processes run) and read back with pg_restore --list; restore with pg_restore into an empty database.\n\n" +
            "Example:\n  backup --config gateway.json --out /var/backups/cybercoop/gateway-2026-12-06.db")
        {
            config,
            output,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!.FullName);
            var source = loaded.Resolve(loaded.Config.Node.Storage);
            var target = parse.GetValue(output)!.FullName;
            if (File.Exists(target) || File.Exists(target + ".partial"))
            {
                throw new CliException($"'{target}' already exists; refusing to overwrite it");
            }

            if (loaded.Config.Storage?.Postgres is { } postgres)
            {
                var folder = Path.GetDirectoryName(target);
                if (folder is not null && !Directory.Exists(folder))
                {
                    throw new CliException($"the folder '{folder}' does not exist");
                }

                PostgresBackupSummary written;
                try
                {
                    written = await PostgresBackup.WriteAsync(postgres.ConnectionString, target, ct).ConfigureAwait(false);
                }
                catch (InvalidOperationException ex)
                {
                    throw new CliException("backup failed: " + ex.Message);
                }

                await io.Output.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"backup written: {written.Path} ({written.Bytes:N0} bytes, pg_dump custom format, {written.TableEntries} tables, one snapshot); pg_restore --list OK; {written.Elapsed.TotalSeconds:0.0} s")).ConfigureAwait(false);
                return CliExitCodes.Success;
            }

            if (string.Equals(Path.GetFullPath(source), target, StringComparison.Ordinal))
            {
                throw CliException.Usage("--out names the node's own database; choose another file");
            }

            var targetDirectory = Path.GetDirectoryName(target);
            if (targetDirectory is not null && !Directory.Exists(targetDirectory))
            {
                throw new CliException($"the folder '{targetDirectory}' does not exist");
            }

            if (!File.Exists(source))
            {
                throw new CliException($"no database at '{source}' (node.storage); has this node run yet?");
            }

            ct.ThrowIfCancellationRequested();
            var summary = await Task.Run(() => DatabaseBackup.Write(source, target, time), ct).ConfigureAwait(false);
            await io.Output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"backup written: {summary.Path} ({summary.Bytes:N0} bytes, {summary.Indicators:N0} indicators, {summary.AuditEntries:N0} audit entries, schema version {summary.SchemaVersion}); integrity_check OK; {summary.Elapsed.TotalSeconds:0.0} s")).ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return command;
    }
}
