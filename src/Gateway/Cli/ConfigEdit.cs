using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// The one way operator commands change <c>gateway.json</c>: load and validate the current file,
/// apply the edit, save through <see cref="GatewayConfigFile.Save"/> (validated, atomic, .bak kept),
/// then ask a running node to reload.
/// </summary>
internal static class ConfigEdit
{
    private static readonly TimeSpan s_lockTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Loads a config for reading, with a message that tells the operator what to fix.</summary>
    public static LoadedConfig Load(string path)
    {
        try
        {
            return GatewayConfigFile.Load(path);
        }
        catch (GatewayConfigException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>
    /// Applies <paramref name="edit"/> (returning null means "nothing to change") and reports whether
    /// a running node took the change. Nothing is written when the current or the edited config is invalid.
    /// </summary>
    public static async Task<bool> ApplyAsync(CliIo io, string path, Func<GatewayConfig, GatewayConfig?> edit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(edit);
        using (await LockAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return await ApplyLockedAsync(io, path, edit, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Holds <c>&lt;config&gt;.lock</c> exclusively so two operators (or scripts) editing the same file at once
    /// cannot lose each other's change between load and save.
    /// </summary>
    private static Task<FileStream> LockAsync(string path, CancellationToken cancellationToken) =>
        EditLock.AcquireAsync(path, s_lockTimeout, TimeSpan.FromMilliseconds(100),
            full => new CliException($"config file '{full}' does not exist"),
            (full, lockPath, ex) => new CliException($"another edit of '{full}' is in progress (lock '{lockPath}' held for over {s_lockTimeout.TotalSeconds:0} s): {ex.Message}"),
            cancellationToken);

    private static async Task<bool> ApplyLockedAsync(CliIo io, string path, Func<GatewayConfig, GatewayConfig?> edit, CancellationToken cancellationToken)
    {
        LoadedConfig current;
        try
        {
            current = GatewayConfigFile.Load(path);
        }
        catch (GatewayConfigException ex)
        {
            throw new CliException($"{ex.Message}{Environment.NewLine}the config must be valid before it is edited; nothing was changed");
        }

        var updated = edit(current.Config);
        if (updated is null)
        {
            return false;
        }

        try
        {
            GatewayConfigFile.Save(current.Path, updated);
        }
        catch (GatewayConfigException ex)
        {
            throw new CliException($"refused: the change would make the config invalid; '{current.Path}' is unchanged:{Environment.NewLine}  - " +
                string.Join(Environment.NewLine + "  - ", ex.Errors));
        }

        io.Output.WriteLine($"saved {current.Path} (previous version: {current.Path}.bak)");
        await NotifyNodeAsync(io, current, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Asks the node running with <paramref name="path"/> to reload (e.g. after its certificate was renewed) and reports the outcome.</summary>
    public static Task ReloadAsync(CliIo io, string path, CancellationToken cancellationToken) =>
        NotifyNodeAsync(io, Load(path), cancellationToken);

    private static async Task NotifyNodeAsync(CliIo io, LoadedConfig config, CancellationToken cancellationToken)
    {
        var socket = config.Resolve(config.Config.Node.AdminSocket);
        var reload = await AdminSocketClient.TryReloadAsync(socket, cancellationToken).ConfigureAwait(false);
        if (reload is null)
        {
            io.Output.WriteLine("no gateway is running for this config; the change applies at its next start");
            return;
        }

        if (reload.Applied)
        {
            io.Output.WriteLine("the running gateway reloaded its config:");
            foreach (var message in reload.Messages)
            {
                io.Output.WriteLine($"  {message}");
            }

            return;
        }

        io.Error.WriteLine("warning: the running gateway refused to reload and keeps its previous config:");
        foreach (var message in reload.Messages)
        {
            io.Error.WriteLine($"  - {message}");
        }
    }
}
