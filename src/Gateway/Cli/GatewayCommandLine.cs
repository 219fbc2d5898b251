using System.CommandLine;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// The gateway's command line: one root command, each feature contributing its subcommands.
/// </summary>
internal static class GatewayCommandLine
{
    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "CyberCoop gateway: a national node that shares cyber-threat indicators with allied nations " +
            "over mutual-TLS gRPC, signing and sealing every bundle and applying a trust policy per peer.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(IndicatorsCommand.Create());
        root.Subcommands.Add(Keys.KeysCommand.Create());
        root.Subcommands.Add(Certs.CertsCommand.Create());
        root.Subcommands.Add(Peers.PeersCommand.Create());
        root.Subcommands.Add(Audit.AuditCommand.Create());
        root.Subcommands.Add(Policy.PolicyCommand.Create());
        root.Subcommands.Add(Status.StatusCommand.Create());
        root.Subcommands.Add(BackupCommand.Create());
        root.Subcommands.Add(Peers.OriginsCommand.Create());
        root.Subcommands.Add(TaxiiCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        return root;
    }
}
