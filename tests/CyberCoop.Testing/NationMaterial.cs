using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using Grpc.Net.Client;

namespace CyberCoop.Testing;

/// <summary>
/// One nation on disk as an operator sets it up, built once for the tests and the load tool alike: a root CA
/// (<c>root.crt</c>), the domain's signed trust bundle, gateway and agent certificates with keys, and a gateway.json
/// listening on a free loopback port. Peers, trusted origins and the config are added by the caller.
/// </summary>
internal class NationMaterial
{
    public NationMaterial(string root, string code, string domain)
    {
        Code = code;
        Domain = domain;
        Directory = Path.Combine(root, code);
        System.IO.Directory.CreateDirectory(Directory);
        Ca = CertificateAuthority.CreateRoot(domain);
        Port = Gateway.Hosting.LoopbackPorts.Reserve();
        PemFiles.WriteCertificate(RootPath, Ca.Certificate);
        ClientTrustedRoots.Add(Ca);
        WriteBundle();
        Issue(SpiffeId.Gateway(domain, GatewayName), "gateway");
        Issue(SpiffeId.Agent(domain, "sensor-1"), "agent");
        Config = new GatewayConfig
        {
            Node = new NodeConfig
            {
                TrustDomain = domain,
                Name = GatewayName,
                Listen = $"127.0.0.1:{Port}",
                Tls = new TlsConfig { Certificate = "gateway.crt", Key = "gateway.key", Root = "root.crt" },
            },
        };
    }

    public string Code { get; }
    public string Domain { get; }
    public string Directory { get; }
    public CertificateAuthority Ca { get; }
    public int Port { get; }
    public string GatewayName => "gw-" + Code;
    public string GatewayId => $"spiffe://{Domain}/gateway/{GatewayName}";
    public string ConfigPath => File("gateway.json");
    public string RootPath => File("root.crt");
    public string DatabasePath => File("gateway.db");
    public string BundlePath => File(TrustBundleFile.DefaultName);
    public string Address => $"https://127.0.0.1:{Port}";
    public GatewayConfig Config { get; set; }

    /// <summary>Replaces <see cref="Config"/>'s node section with <paramref name="change"/>'s copy (config records are immutable).</summary>
    public void EditNode(Func<NodeConfig, NodeConfig> change) => Config = Config with { Node = change(Config.Node) };

    /// <summary>Replaces the entry for peer <paramref name="peerId"/> with <paramref name="change"/>'s copy.</summary>
    public void EditPeer(string peerId, Func<PeerConfig, PeerConfig> change) =>
        Config = Config with { Peers = [.. Config.Peers.Select(p => p.Id == peerId ? change(p) : p)] };

    /// <summary>Roots clients accept for this nation's gateway (the domain root; plus a new one after a rotation).</summary>
    public List<CertificateAuthority> ClientTrustedRoots { get; } = [];

    /// <summary>Sequence of the bundle last written by <see cref="WriteBundle"/>.</summary>
    public ulong BundleSequence { get; private set; }

    /// <summary>Serials the domain revoked (written into its next bundle).</summary>
    public List<string> Revoked { get; } = [];

    /// <summary>A path in the nation's folder.</summary>
    public string File(string name) => Path.Combine(Directory, name);

    /// <summary>
    /// Signs and writes the domain's trust bundle (as 'certs' does offline): listing <paramref name="roots"/> (default:
    /// the domain root), signed by <paramref name="signers"/> (default: the listed roots), sequence + 1 unless given.
    /// </summary>
    public SignedTrustBundle WriteBundle(IReadOnlyList<CertificateAuthority>? roots = null, IReadOnlyList<CertificateAuthority>? signers = null,
        ulong? sequence = null, TimeSpan? lifetime = null)
    {
        roots ??= [Ca];
        BundleSequence = sequence ?? BundleSequence + 1;
        var signed = TrustBundleSigner.Sign(
            TrustBundleSigner.Create(Domain, BundleSequence, roots.Select(r => r.Certificate), Revoked.Select(s => s.ToUpperInvariant()),
                DateTimeOffset.UtcNow.AddMinutes(-1), lifetime ?? TimeSpan.FromDays(30)),
            signers ?? roots);
        TrustBundleFile.Write(BundlePath, signed);
        return signed;
    }

    /// <summary>Makes <paramref name="to"/> a peer of this nation: its root copied beside the config and pinned.</summary>
    public void AddPeer(NationMaterial to, OutboundPolicyConfig? outbound = null, InboundPolicyConfig? inbound = null, string? suite = null)
    {
        var rootCopy = File($"peer-{to.Code}-root.crt");
        System.IO.File.Copy(to.RootPath, rootCopy, overwrite: true);
        var peer = new PeerConfig
        {
            Id = to.GatewayId,
            TrustDomain = to.Domain,
            Address = to.Address,
            Root = Path.GetFileName(rootCopy),
            RootPin = to.Ca.Pin,
            Suite = suite,
            Outbound = outbound ?? new OutboundPolicyConfig(),
            Inbound = inbound ?? new InboundPolicyConfig(),
        };
        Config = Config with { Peers = [.. Config.Peers.Where(p => p.Id != to.GatewayId), peer] };
    }

    /// <summary>Lets this nation verify content that originates in <paramref name="origin"/> and arrives by relay.</summary>
    public void TrustOrigin(NationMaterial origin)
    {
        var rootCopy = File($"origin-{origin.Code}-root.crt");
        System.IO.File.Copy(origin.RootPath, rootCopy, overwrite: true);
        Config = Config with
        {
            TrustedOrigins = [.. Config.TrustedOrigins, new TrustedOriginConfig { TrustDomain = origin.Domain, Root = Path.GetFileName(rootCopy), RootPin = origin.Ca.Pin }],
        };
    }

    /// <summary>Writes gateway.json from <see cref="Config"/>.</summary>
    public void WriteConfig() => System.IO.File.WriteAllText(ConfigPath, GatewayConfigFile.Serialize(Config));

    /// <summary>One of the nation's certificates with its key ("gateway", "agent", or a name given to <see cref="IssueAgent"/>).</summary>
    public X509Certificate2 Certificate(string which) => PemFiles.LoadCertificateWithKey(File(which + ".crt"), File(which + ".key"));

    /// <summary>Issues another agent certificate of this domain and returns it with its key.</summary>
    public X509Certificate2 IssueAgent(string name)
    {
        Issue(SpiffeId.Agent(Domain, name), name);
        return Certificate(name);
    }

    /// <summary>
    /// An mTLS gRPC channel to this nation's gateway (or <paramref name="address"/>, another process of it) as
    /// <paramref name="clientCertificate"/>, accepting only a server certificate that chains to
    /// <see cref="ClientTrustedRoots"/>, as an agent does. With <paramref name="multipleConnections"/> more streams than
    /// the server allows per connection open more connections instead of waiting.
    /// </summary>
    public GrpcChannel OpenChannel(X509Certificate2 clientCertificate, bool multipleConnections = false, string? address = null, int? maxMessageBytes = null)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = multipleConnections,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [clientCertificate],
                // The roots as they are at each handshake: a root added after a rotation counts for channels made before.
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    new ChainValidator(ClientTrustedRoots.Select(r => new TrustAnchor(Domain, r.Certificate, r.Pin)))
                        .Validate(cert as X509Certificate2, null, CertificatePurpose.Server).IsValid,
            },
        };
        return GrpcChannel.ForAddress(address ?? Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = maxMessageBytes ?? 4 * 1024 * 1024,
            MaxSendMessageSize = maxMessageBytes,
        });
    }

    private void Issue(SpiffeId spiffeId, string fileName)
    {
        using var certificate = Ca.Issue(spiffeId);
        PemFiles.WriteCertificate(File(fileName + ".crt"), certificate);
        PemFiles.WritePrivateKey(File(fileName + ".key"), certificate);
    }
}
