using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Federation.Tests;

/// <summary>One nation of a test federation: its root CA, gateway and agent material on disk.</summary>
internal sealed class TestNation
{
    public required string Code { get; init; }
    public required string Domain { get; init; }
    public required string Directory { get; init; }
    public required CertificateAuthority Ca { get; init; }
    public required int Port { get; init; }
    public string GatewayName => "gw-" + Code;
    public string GatewayId => $"spiffe://{Domain}/gateway/{GatewayName}";
    public string ConfigPath => Path.Combine(Directory, "gateway.json");
    public string RootPath => Path.Combine(Directory, "root.crt");
    public string Address => $"https://127.0.0.1:{Port}";
    public GatewayConfig Config { get; set; } = new();
    public TimeProvider Time { get; set; } = TimeProvider.System;
    public GatewayNode? Node { get; set; }
    public string BundlePath => Path.Combine(Directory, TrustBundleFile.DefaultName);

    /// <summary>Roots test clients accept for this nation's gateway (the domain root; plus a new one after a rotation).</summary>
    public List<CertificateAuthority> ClientTrustedRoots { get; } = [];

    /// <summary>Sequence of the bundle last written by <see cref="WriteBundle"/>.</summary>
    public ulong BundleSequence { get; private set; }

    /// <summary>Serials the domain revoked (written into its next bundle).</summary>
    public List<string> Revoked { get; } = [];

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
}

/// <summary>The system clock shifted by an adjustable offset (a node whose clock is wrong).</summary>
internal sealed class OffsetTimeProvider : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}

/// <summary>
/// A federation of real gateways on loopback for tests: a root CA per nation, real certificates and
/// keys on disk, real config files, real SQLite databases, each node a real Kestrel server.
/// </summary>
internal sealed class TestFederation : IAsyncDisposable
{
    private readonly List<GrpcChannel> _channels = [];

    private TestFederation(string root) => Root = root;

    public string Root { get; }

    public Dictionary<string, TestNation> Nations { get; } = new(StringComparer.Ordinal);

    public TestNation this[string code] => Nations[code];

    /// <summary>Creates nations (e.g. "ee", "fi", "lv") with roots, gateway and agent certificates.</summary>
    public static TestFederation Create(params string[] codes)
    {
        var root = Path.Combine(Path.GetTempPath(), "cybercoop-tests", Guid.NewGuid().ToString("n"));
        System.IO.Directory.CreateDirectory(root);
        var federation = new TestFederation(root);
        foreach (var code in codes)
        {
            var dir = Path.Combine(root, code);
            System.IO.Directory.CreateDirectory(dir);
            var domain = code + ".cybercoop";
            var ca = CertificateAuthority.CreateRoot(domain);
            PemFiles.WriteCertificate(Path.Combine(dir, "root.crt"), ca.Certificate);
            var nation = new TestNation { Code = code, Domain = domain, Directory = dir, Ca = ca, Port = FreePort() };
            nation.ClientTrustedRoots.Add(ca);
            nation.WriteBundle();
            using (var gateway = ca.Issue(SpiffeId.Gateway(domain, nation.GatewayName)))
            {
                PemFiles.WriteCertificate(Path.Combine(dir, "gateway.crt"), gateway);
                PemFiles.WritePrivateKey(Path.Combine(dir, "gateway.key"), gateway);
            }

            using (var agent = ca.Issue(SpiffeId.Agent(domain, "sensor-1")))
            {
                PemFiles.WriteCertificate(Path.Combine(dir, "agent.crt"), agent);
                PemFiles.WritePrivateKey(Path.Combine(dir, "agent.key"), agent);
            }

            nation.Config = new GatewayConfig
            {
                Node = new NodeConfig
                {
                    TrustDomain = domain,
                    Name = nation.GatewayName,
                    Listen = $"127.0.0.1:{nation.Port}",
                    Tls = new TlsConfig { Certificate = "gateway.crt", Key = "gateway.key", Root = "root.crt" },
                    Bundle = new BundleConfig { MaxIndicators = 1000, LingerMilliseconds = 20 },
                    TrustBundleRefreshSeconds = 300,
                },
            };
            federation.Nations[code] = nation;
        }

        return federation;
    }

    /// <summary>Makes <paramref name="to"/> a peer of <paramref name="from"/> with the given policies.</summary>
    public void Peer(string from, string to, OutboundPolicyConfig? outbound = null, InboundPolicyConfig? inbound = null, string? suite = null)
    {
        var a = this[from];
        var b = this[to];
        var rootCopy = Path.Combine(a.Directory, $"peer-{b.Code}-root.crt");
        File.Copy(b.RootPath, rootCopy, overwrite: true);
        a.Config.Peers.RemoveAll(p => p.Id == b.GatewayId);
        a.Config.Peers.Add(new PeerConfig
        {
            Id = b.GatewayId,
            TrustDomain = b.Domain,
            Address = b.Address,
            Root = Path.GetFileName(rootCopy),
            RootPin = b.Ca.Pin,
            Suite = suite,
            Outbound = outbound ?? new OutboundPolicyConfig(),
            Inbound = inbound ?? new InboundPolicyConfig(),
        });
    }

    /// <summary>Peers two nations both ways with the same policies.</summary>
    public void PeerBoth(string a, string b, OutboundPolicyConfig? outbound = null, InboundPolicyConfig? inbound = null)
    {
        Peer(a, b, outbound, inbound);
        Peer(b, a, outbound, inbound);
    }

    /// <summary>Lets <paramref name="at"/> verify content that originates in <paramref name="origin"/> and arrives by relay.</summary>
    public void TrustOrigin(string at, string origin)
    {
        var a = this[at];
        var o = this[origin];
        var rootCopy = Path.Combine(a.Directory, $"origin-{o.Code}-root.crt");
        File.Copy(o.RootPath, rootCopy, overwrite: true);
        a.Config.TrustedOrigins.Add(new TrustedOriginConfig { TrustDomain = o.Domain, Root = Path.GetFileName(rootCopy), RootPin = o.Ca.Pin });
    }

    /// <summary>Writes every config file.</summary>
    public void WriteConfigs()
    {
        foreach (var nation in Nations.Values)
        {
            File.WriteAllText(nation.ConfigPath, GatewayConfigFile.Serialize(nation.Config));
        }
    }

    /// <summary>Writes configs and starts the named nodes (all when none named).</summary>
    public async Task StartAsync(params string[] codes)
    {
        WriteConfigs();
        foreach (var code in codes.Length == 0 ? Nations.Keys.ToArray() : codes)
        {
            var nation = this[code];
            nation.Node = await GatewayNode.StartAsync(nation.ConfigPath, new GatewayNodeOptions
            {
                Time = nation.Time,
                ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
            });
        }
    }

    /// <summary>Stops one node gracefully.</summary>
    public async Task StopAsync(string code)
    {
        var nation = this[code];
        if (nation.Node is { } node)
        {
            nation.Node = null;
            await node.DisposeAsync();
        }
    }

    /// <summary>An Ingest client of <paramref name="code"/>'s agent (or the given certificate).</summary>
    public Ingest.IngestClient IngestClient(string code, X509Certificate2? clientCertificate = null, bool multipleConnections = false) =>
        new(Channel(this[code], clientCertificate ?? LoadCertificate(code, "agent"), multipleConnections));

    /// <summary>A Federation client calling <paramref name="target"/> with the given certificate.</summary>
    public Contracts.V1.Federation.FederationClient FederationClient(string target, X509Certificate2 clientCertificate) =>
        new(Channel(this[target], clientCertificate));

    /// <summary>An IndicatorAdmin client calling <paramref name="target"/> over mTLS on its TCP port (which must refuse it).</summary>
    public IndicatorAdmin.IndicatorAdminClient IndicatorAdminOverTcp(string target, X509Certificate2 clientCertificate) =>
        new(Channel(this[target], clientCertificate));

    /// <summary>Loads one of a nation's certificates with its key ("gateway" or "agent").</summary>
    public X509Certificate2 LoadCertificate(string code, string which) =>
        PemFiles.LoadCertificateWithKey(Path.Combine(this[code].Directory, which + ".crt"), Path.Combine(this[code].Directory, which + ".key"));

    /// <summary>Issues another agent certificate of <paramref name="code"/>'s domain and returns it with its key.</summary>
    public X509Certificate2 IssueAgent(string code, string name)
    {
        var nation = this[code];
        using (var agent = nation.Ca.Issue(SpiffeId.Agent(nation.Domain, name)))
        {
            PemFiles.WriteCertificate(Path.Combine(nation.Directory, name + ".crt"), agent);
            PemFiles.WritePrivateKey(Path.Combine(nation.Directory, name + ".key"), agent);
        }

        return LoadCertificate(code, name);
    }

    /// <summary>Waits until the SQLite database of <paramref name="code"/>'s node (run as a process) holds at least <paramref name="expected"/> indicators.</summary>
    public async Task WaitForStoredCountAsync(string code, int expected, TimeSpan timeout, Func<string> diagnostics)
    {
        var storage = Path.Combine(this[code].Directory, "gateway.db");
        var deadline = DateTime.UtcNow + timeout;
        long count = -1;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(storage))
            {
                await using var store = await Gateway.Storage.GatewayStore.OpenAsync(storage, TimeProvider.System, CancellationToken.None);
                count = await store.CountIndicatorsAsync(CancellationToken.None);
                if (count >= expected)
                {
                    return;
                }
            }

            await Task.Delay(250);
        }

        Assert.Fail($"{code} holds {count} of {expected} indicators after {timeout}:\n{diagnostics()}");
    }

    /// <summary>An Ingest client of <paramref name="code"/>'s agent to one process of that nation listening on <paramref name="port"/>.</summary>
    public Ingest.IngestClient IngestClientAt(string code, int port) =>
        new(Channel(this[code], LoadCertificate(code, "agent"), address: $"https://127.0.0.1:{port}"));

    private GrpcChannel Channel(TestNation target, X509Certificate2 clientCertificate, bool multipleConnections = false, string? address = null)
    {
        var handler = new SocketsHttpHandler
        {
            // More streams than the server allows per connection then open more connections instead of waiting.
            EnableMultipleHttp2Connections = multipleConnections,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [clientCertificate],
                // Tests trust the target's own root only, like an agent does.
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    new ChainValidator(target.ClientTrustedRoots.Select(r => new TrustAnchor(target.Domain, r.Certificate, r.Pin)))
                        .Validate(cert as X509Certificate2, null, CertificatePurpose.Server).IsValid,
            },
        };
        var channel = GrpcChannel.ForAddress(address ?? target.Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        _channels.Add(channel);
        return channel;
    }

    /// <summary>A sighting as an agent would send it.</summary>
    public static Sighting Sighting(IndicatorType type, string value, Tlp tlp = Tlp.Amber, uint confidence = 80, params string[] tags)
    {
        var sighting = new Sighting
        {
            Type = type,
            Value = value,
            Tlp = tlp,
            Confidence = confidence,
            ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-5)),
            Sensor = "suricata-dmz",
            Count = 1,
        };
        sighting.Tags.Add(tags);
        sighting.Context["signature"] = "ET MALWARE test";
        sighting.Context["internal_host"] = "scada-hmi-07.internal";
        return sighting;
    }

    /// <summary>Sends one batch through Ingest and returns the result.</summary>
    public async Task<IngestResult> IngestAsync(string code, params Sighting[] sightings)
    {
        using var call = IngestClient(code).Submit();
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
        batch.Sightings.Add(sightings);
        await call.RequestStream.WriteAsync(batch);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }

    /// <summary>The indicator id a sighting of this value gets.</summary>
    public static string IdOf(IndicatorType type, string value) =>
        IndicatorIds.Compute(type, IndicatorNormalizer.Normalize(type, value).Value);

    /// <summary>The indicator as stored at a nation, or null.</summary>
    public Task<Indicator?> GetAsync(string code, IndicatorType type, string value) =>
        this[code].Node!.Runtime.Store.GetIndicatorAsync(IdOf(type, value), CancellationToken.None);

    /// <summary>A nation's audit log, oldest entry first.</summary>
    public async Task<List<Gateway.Storage.AuditEntry>> AuditAsync(string code)
    {
        var list = new List<Gateway.Storage.AuditEntry>();
        await foreach (var entry in this[code].Node!.Runtime.Store.Audit.TailAsync(100_000, CancellationToken.None))
        {
            list.Add(entry);
        }

        return list;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; fails after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"timed out waiting until {what}");
    }

    /// <summary>A free loopback TCP port (outside the ephemeral range, see LoopbackPorts).</summary>
    public static int FreePort() => Gateway.Hosting.LoopbackPorts.Reserve();

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        foreach (var nation in Nations.Values)
        {
            if (nation.Node is { } node)
            {
                await node.DisposeAsync();
            }

            nation.Ca.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
