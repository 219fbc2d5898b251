using System.CommandLine;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Pipeline;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Cli;

/// <summary><c>run</c>: the long-running agent.</summary>
internal static class RunCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "Path of agent.json (relative paths inside it are resolved against its folder).", Required = true };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log every acknowledged batch (debug level)." };
        var command = new Command(
            "run",
            "Run the agent: follow every configured source (surviving rotation and restarts) and poll MISP feeds given by https " +
            "\"url\" (conditional requests, only changed events, TLS validated against the system store or caFile), turn detections into " +
            "sightings, spool them durably and stream them to the gateway over mutual TLS. Stops cleanly on Ctrl+C or SIGTERM.\n\n" +
            "Example:\n  cybercoop-agent run --config /etc/cybercoop/agent.json")
        {
            config, verbose,
        };
        command.SetAction((result, cancellationToken) => RunAsync(result.GetValue(config)!, result.GetValue(verbose), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo config, bool verbose, CancellationToken cancellationToken)
    {
        AgentSettings settings;
        try
        {
            settings = AgentConfigLoader.Load(config.FullName);
        }
        catch (AgentConfigException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 2;
        }

        using var loggers = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
            if (SystemdHelpers.IsSystemdService())
            {
                // journald adds its own timestamps; the systemd formatter adds syslog priorities.
                b.AddSystemdConsole(o => o.UseUtcTimestamp = true);
            }
            else
            {
                b.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
                    o.UseUtcTimestamp = true;
                });
            }
        });
        try
        {
            await using var runner = new AgentRunner(settings, loggers, TimeProvider.System);
            // Type=notify (deploy/systemd/cybercoop-agent.service): ready once the config is valid and the spool and
            // offsets are open. A no-op unless the service manager set NOTIFY_SOCKET.
            var notifier = new SystemdNotifier();
            notifier.Notify(ServiceState.Ready);
            await runner.RunAsync(cancellationToken).ConfigureAwait(false);
            notifier.Notify(ServiceState.Stopping);
            return 0;
        }
        catch (AgentConfigException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 2;
        }
        catch (InvalidDataException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }
    }
}
