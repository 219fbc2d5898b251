using System.Security.Cryptography.X509Certificates;
using CyberCoop.Gateway.Configuration;
using Grpc.Net.Client;

namespace CyberCoop.Load;

/// <summary>
/// Two peered nations A and B on disk, as an operator would set them up (the shared harness's
/// <see cref="NationMaterial"/>): a root CA each, gateway and agent certificates, gateway.json with each other as peers
/// (A shares up to AMBER with B), SQLite files that the gateways create on start.
/// </summary>
internal sealed class LoadFederation : IDisposable
{
    /// <summary>Largest gRPC message the load tool's channels send or take.</summary>
    private const int MaxMessageBytes = 64 * 1024 * 1024;

    private LoadFederation(string root, NationMaterial a, NationMaterial b)
    {
        Root = root;
        A = a;
        B = b;
    }

    public string Root { get; }

    public NationMaterial A { get; }

    public NationMaterial B { get; }

    /// <summary>
    /// A and B in <paramref name="root"/>; each on SQLite, or on the PostgreSQL database of <paramref name="postgresA"/>
    /// / <paramref name="postgresB"/> when given (storage.postgres.connectionString).
    /// </summary>
    public static LoadFederation Create(string root, int bundleSize, string? postgresA = null, string? postgresB = null)
    {
        System.IO.Directory.CreateDirectory(root);
        var a = CreateNation(root, "a", bundleSize, postgresA);
        var b = CreateNation(root, "b", bundleSize, postgresB);
        a.AddPeer(b, new OutboundPolicyConfig { TlpCeiling = "AMBER" });
        b.AddPeer(a, new OutboundPolicyConfig { TlpCeiling = "AMBER" });
        a.WriteConfig();
        b.WriteConfig();
        return new LoadFederation(root, a, b);
    }

    /// <summary>An mTLS channel to <paramref name="target"/> (or a process of its domain at <paramref name="address"/>) as <paramref name="clientCertificate"/>.</summary>
    public static GrpcChannel Channel(NationMaterial target, X509Certificate2 clientCertificate, string? address = null) =>
        target.OpenChannel(clientCertificate, multipleConnections: true, address, MaxMessageBytes);

    /// <summary>A free loopback TCP port (outside the ephemeral range, see LoopbackPorts).</summary>
    public static int FreePort() => Gateway.Hosting.LoopbackPorts.Reserve();

    /// <summary>
    /// The config of a second gateway process of <paramref name="nation"/> (active-active on its PostgreSQL database):
    /// the same identity, keys, peers and database, its own listen port and admin socket. Returns its path and port.
    /// </summary>
    public static (string ConfigPath, int Port) WriteSecondProcess(NationMaterial nation)
    {
        var port = FreePort();
        var second = nation.Config with
        {
            Node = nation.Config.Node with { Listen = $"127.0.0.1:{port}", AdminSocket = "admin-2.sock" },
        };
        var path = nation.File("gateway-2.json");
        File.WriteAllText(path, GatewayConfigFile.Serialize(second));
        return (path, port);
    }

    private static NationMaterial CreateNation(string root, string code, int bundleSize, string? postgres)
    {
        var nation = new NationMaterial(root, code, code + ".load.cybercoop");
        nation.Config = nation.Config with
        {
            Storage = postgres is null ? nation.Config.Storage : new StorageConfig { Postgres = new PostgresConfig { ConnectionString = postgres } },
            Node = nation.Config.Node with
            {
                Bundle = new BundleConfig { MaxIndicators = bundleSize },
                // The load tool measures the node's capacity, not the per-identity limits that protect it from one agent or
                // peer: they are raised out of the way (the defaults are in docs/operator-guide.md).
                Limits = new LimitsConfig
                {
                    AgentSightingsPerSecond = 1_000_000,
                    AgentSightingsBurst = 10_000_000,
                    PeerEnvelopesPerSecond = 100_000,
                    PeerEnvelopesBurst = 1_000_000,
                },
            },
        };
        return nation;
    }

    public void Dispose()
    {
        A.Ca.Dispose();
        B.Ca.Dispose();
        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
    }
}
