using System.CommandLine;

namespace CyberCoop.Agent.Cli;

/// <summary>The agent's command line.</summary>
internal static class AgentCommandLine
{
    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "CyberCoop sensor agent: turns Suricata, Zeek, STIX and generic detections into sightings " +
            "and streams them to the national gateway over mutual TLS, spooling to disk when it is away.");
        root.Subcommands.Add(RunCommand.Build());
        root.Subcommands.Add(ParseCommand.Build());
        return root;
    }
}
