using System.CommandLine;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Cli;

/// <summary><c>serve --config gateway.json</c>: runs the node until SIGTERM or Ctrl-C.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c")
        {
            Description = "The node's gateway.json.",
            Required = true,
        };
        var command = new Command("serve",
            "Run this national gateway: mutual-TLS gRPC (TLS 1.3) for agents (Ingest) and allied gateways " +
            "(Federation), the Admin API on the Unix socket, and with node.metricsListen set Prometheus /metrics and /healthz " +
            "on a plain-HTTP port. Stops gracefully on SIGTERM or Ctrl-C.\n\n" +
            "Example:\n  dotnet run --project src/Gateway -- serve --config certs-dev/ee.cybercoop/gateway.json")
        {
            config,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var path = parse.GetValue(config)!.FullName;
            GatewayNode node;
            try
            {
                node = await GatewayNode.StartAsync(path, ct: ct).ConfigureAwait(false);
            }
            catch (Crypto.CryptoFormatException ex)
            {
                throw new CliException("cannot start: " + ex.Message);
            }

            await using (node.ConfigureAwait(false))
            {
                using var registration = ct.Register(() => _ = node.StopAsync());
                await node.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }
}
