using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Trust;
using Grpc.Net.Client;

namespace CyberCoop.Load;

/// <summary>One nation of the load federation: its CA, certificate files, config and database paths.</summary>
internal sealed class LoadNation
{
    public required string Code { get; init; }
    public required string Domain { get; init; }
    public required string Directory { get; init; }
    public required CertificateAuthority Ca { get; init; }
    public required int Port { get; init; }
    public string GatewayName => "gw-" + Code;
    public string GatewayId => $"spiffe://{Domain}/gateway/{GatewayName}";
    public string ConfigPath => Path.Combine(Directory, "gateway.json");
    public string DatabasePath => Path.Combine(Directory, "gateway.db");
    public string Address => $"https://127.0.0.1:{Port}";
    public GatewayConfig Config { get; set; } = new();

    public string File(string name) => Path.Combine(Directory, name);
}

/// <summary>
/// Two peered nations A and B on disk, as an operator would set them up: a root CA each (CyberCoop.Crypto), gateway
/// and agent certificates, gateway.json with each other as peers (A shares up to AMBER with B), SQLite files that the
/// gateways create on start.
/// </summary>
internal sealed class LoadFederation : IDisposable
{
    private LoadFederation(string root, LoadNation a, LoadNation b)
    {
        Root = root;
        A = a;
        B = b;
    }

    public string Root { get; }

    public LoadNation A { get; }

    public LoadNation B { get; }

    public static LoadFederation Create(string root, int bundleSize)
    {
        System.IO.Directory.CreateDirectory(root);
        var a = CreateNation(root, "a", bundleSize);
        var b = CreateNation(root, "b", bundleSize);
        Peer(a, b);
        Peer(b, a);
        foreach (var nation in new[] { a, b })
        {
            System.IO.File.WriteAllText(nation.ConfigPath, GatewayConfigFile.Serialize(nation.Config));
        }

        return new LoadFederation(root, a, b);
    }

    /// <summary>An mTLS channel to <paramref name="target"/> authenticated as <paramref name="clientCertificate"/>.</summary>
    public static GrpcChannel Channel(LoadNation target, X509Certificate2 clientCertificate)
    {
        var validator = new ChainValidator([new TrustAnchor(target.Domain, target.Ca.Certificate, target.Ca.Pin)]);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [clientCertificate],
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    validator.Validate(cert as X509Certificate2, null, CertificatePurpose.Server).IsValid,
            },
        };
        return GrpcChannel.ForAddress(target.Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
        });
    }

    /// <summary>A nation's certificate with its key ("gateway" or "agent").</summary>
    public static X509Certificate2 Certificate(LoadNation nation, string which) =>
        PemFiles.LoadCertificateWithKey(nation.File(which + ".crt"), nation.File(which + ".key"));

    /// <summary>A free loopback TCP port (outside the ephemeral range, see LoopbackPorts).</summary>
    public static int FreePort() => Gateway.Hosting.LoopbackPorts.Reserve();

    private static LoadNation CreateNation(string root, string code, int bundleSize)
    {
        var dir = Path.Combine(root, code);
        System.IO.Directory.CreateDirectory(dir);
        var domain = code + ".load.cybercoop";
        var ca = CertificateAuthority.CreateRoot(domain);
        PemFiles.WriteCertificate(Path.Combine(dir, "root.crt"), ca.Certificate);
        TrustBundleFile.Write(Path.Combine(dir, TrustBundleFile.DefaultName), TrustBundleSigner.Sign(
            TrustBundleSigner.Create(domain, 1, [ca.Certificate], [], DateTimeOffset.UtcNow, TimeSpan.FromDays(30)), [ca]));
        var nation = new LoadNation { Code = code, Domain = domain, Directory = dir, Ca = ca, Port = FreePort() };
        using (var gateway = ca.Issue(SpiffeId.Gateway(domain, nation.GatewayName)))
        {
            PemFiles.WriteCertificate(nation.File("gateway.crt"), gateway);
            PemFiles.WritePrivateKey(nation.File("gateway.key"), gateway);
        }

        using (var agent = ca.Issue(SpiffeId.Agent(domain, "sensor-1")))
        {
            PemFiles.WriteCertificate(nation.File("agent.crt"), agent);
            PemFiles.WritePrivateKey(nation.File("agent.key"), agent);
        }

        nation.Config = new GatewayConfig
        {
            Node = new NodeConfig
            {
                TrustDomain = domain,
                Name = nation.GatewayName,
                Listen = $"127.0.0.1:{nation.Port}",
                Tls = new TlsConfig { Certificate = "gateway.crt", Key = "gateway.key", Root = "root.crt" },
                Bundle = new BundleConfig { MaxIndicators = bundleSize },
                // The load tool measures the node's capacity, not the per-identity limits that protect it from one
                // agent or peer: they are raised out of the way (the defaults are in docs/operator-guide.md).
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

    private static void Peer(LoadNation from, LoadNation to)
    {
        var rootCopy = from.File($"peer-{to.Code}-root.crt");
        System.IO.File.Copy(Path.Combine(to.Directory, "root.crt"), rootCopy, overwrite: true);
        from.Config.Peers.Add(new PeerConfig
        {
            Id = to.GatewayId,
            TrustDomain = to.Domain,
            Address = to.Address,
            Root = Path.GetFileName(rootCopy),
            RootPin = to.Ca.Pin,
            Outbound = new OutboundPolicyConfig { TlpCeiling = "AMBER" },
            Inbound = new InboundPolicyConfig(),
        });
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
