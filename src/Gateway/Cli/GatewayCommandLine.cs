using System.CommandLine;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// The gateway's command line: one root command, each feature contributing its subcommands.
/// </summary>
internal static class GatewayCommandLine
{
    /// <summary>
    /// Builds the root command with every subcommand. <paramref name="time"/> is the one clock every command reads (the
    /// system clock unless a test passes its own): certificate windows, bundle dates, ages and expiry in status.
    /// </summary>
    public static RootCommand Build(TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        var root = new RootCommand(
            "CyberCoop gateway: a national node that shares cyber-threat indicators with allied nations " +
            "over mutual-TLS gRPC, signing and sealing every bundle and applying a trust policy per peer.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(IndicatorsCommand.Create(clock));
        root.Subcommands.Add(Keys.KeysCommand.Create(clock));
        root.Subcommands.Add(Certs.CertsCommand.Create(clock));
        root.Subcommands.Add(Peers.PeersCommand.Create());
        root.Subcommands.Add(Audit.AuditCommand.Create(clock));
        root.Subcommands.Add(Policy.PolicyCommand.Create(clock));
        root.Subcommands.Add(Status.StatusCommand.Create(clock));
        root.Subcommands.Add(BackupCommand.Create(clock));
        root.Subcommands.Add(Peers.OriginsCommand.Create());
        root.Subcommands.Add(TaxiiCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        return root;
    }
}
