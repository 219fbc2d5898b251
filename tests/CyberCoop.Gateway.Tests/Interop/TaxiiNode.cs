using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>Starts a real dev node with its TAXII server on a free loopback port and the given analysts.</summary>
internal static class TaxiiNode
{
    /// <summary>Basic-auth secret of every analyst <see cref="Analyst"/> makes.</summary>
    public const string Secret = "taxii-analyst-secret-0123456789";

    public static TaxiiAnalystConfig Analyst(string name, string clearance = "AMBER", bool canWrite = false) => new()
    {
        Name = name,
        SecretHash = SecretHash.Hash(Secret, SecretHash.MinimumIterations),
        Clearance = clearance,
        CanWrite = canWrite,
    };

    public static async Task<GatewayNode> StartAsync(DevNode node, params TaxiiAnalystConfig[] analysts)
    {
        var config = GatewayConfigFile.Load(node.ConfigPath).Config;
        GatewayConfigFile.Save(node.ConfigPath, config with { Taxii = new TaxiiConfig { Listen = "127.0.0.1:0", MaxPageSize = 50, Analysts = [.. analysts] } });
        return await GatewayNode.StartAsync(node.ConfigPath, new GatewayNodeOptions { ConfigureLogging = l => l.ClearProviders() }, TestContext.Current.CancellationToken);
    }

    public static TaxiiClient Client(GatewayNode running, DevNode node, string user) => new(running.TaxiiPort!.Value, node.RootCertificate, user: user, secret: Secret);
}
