using System.Text.Json;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Trust;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>
/// Makes a complete development federation on disk: per nation a root CA, a gateway certificate and
/// config (all peers meshed, roots pinned, differing per-peer policies) and agents with their configs.
/// Used by <c>certs dev</c>, the demo and the federation tests (with <see cref="DevFederationOptions.BasePort"/> 0).
/// </summary>
/// <remarks>
/// Everything is built in a hidden staging folder inside the target and moved into place at the end,
/// so a failure leaves no half-made nation behind. Paths inside the configs are relative, so the
/// folder can be moved. Root keys stay beside the roots: this is for development only.
/// </remarks>
internal static class DevFederation
{
    /// <summary>Files a target folder may already hold (the repository's certs-dev/ keeps these).</summary>
    private static readonly HashSet<string> s_tolerated = new(StringComparer.Ordinal) { "README.md", ".gitignore" };

    /// <summary>Creates the federation in <paramref name="outDirectory"/> and returns what was written.</summary>
    public static DevFederationLayout Create(string outDirectory, DevFederationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outDirectory);
        options ??= new DevFederationOptions();
        var nations = options.Nations;
        if (nations.Count < 2 || nations.Select(n => n.TrustDomain).Distinct(StringComparer.Ordinal).Count() != nations.Count)
        {
            throw new ArgumentException("a federation needs at least two nations with distinct trust domains", nameof(options));
        }

        var root = CertificateFiles.EnsureDirectory(outDirectory);
        CheckTarget(root, nations, options.Overwrite);
        var ports = PickPorts(options.BasePort, nations.Count);
        var staging = Path.Combine(root, ".staging-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(staging);
        try
        {
            var authorities = nations.Select(n => CertificateAuthority.CreateRoot(n.TrustDomain, options.Time, options.RootLifetime)).ToList();
            try
            {
                var nodes = new List<DevNode>();
                for (var i = 0; i < nations.Count; i++)
                {
                    nodes.Add(WriteNation(staging, root, nations, authorities, ports, i, options));
                }

                foreach (var nation in nations)
                {
                    var final = Path.Combine(root, nation.TrustDomain);
                    if (Directory.Exists(final))
                    {
                        Directory.Delete(final, recursive: true);
                    }

                    Directory.Move(Path.Combine(staging, nation.TrustDomain), final);
                }

                return new DevFederationLayout(root, nodes);
            }
            finally
            {
                foreach (var authority in authorities)
                {
                    authority.Dispose();
                }
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static void CheckTarget(string root, IReadOnlyList<DevNation> nations, bool overwrite)
    {
        var domains = nations.Select(n => n.TrustDomain).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(root))
        {
            var name = Path.GetFileName(entry);
            if (s_tolerated.Contains(name))
            {
                continue;
            }

            if (domains.Contains(name) && overwrite)
            {
                continue;
            }

            throw new CliException(domains.Contains(name)
                ? $"'{entry}' already exists; refusing to overwrite a development federation (pass --force to replace it)"
                : $"'{root}' is not empty ('{name}' is there); choose an empty folder");
        }
    }

    private static int[] PickPorts(int basePort, int count)
    {
        if (basePort > 0)
        {
            return Enumerable.Range(basePort, count).ToArray();
        }

        return LoopbackPorts.Reserve(count);
    }

    private static DevNode WriteNation(
        string staging, string finalRoot, IReadOnlyList<DevNation> nations, List<CertificateAuthority> authorities, int[] ports, int index, DevFederationOptions options)
    {
        var nation = nations[index];
        var authority = authorities[index];
        var directory = Path.Combine(staging, nation.TrustDomain);
        Directory.CreateDirectory(directory);
        authority.Save(Path.Combine(directory, CertificateFiles.RootCertificateName), Path.Combine(directory, CertificateFiles.RootKeyName));
        TrustBundleFile.Write(Path.Combine(directory, TrustBundleFile.DefaultName), TrustBundleSigner.Sign(
            TrustBundleSigner.Create(nation.TrustDomain, 1, [authority.Certificate], [], options.Time.GetUtcNow(), TimeSpan.FromDays(TrustBundleEditing.DefaultBundleDays)),
            [authority]));

        var gatewayId = new SpiffeId(nation.TrustDomain, WorkloadKind.Gateway, nation.Gateway);
        using (var gateway = authority.Issue(gatewayId, options.CertificateLifetime, time: options.Time))
        {
            CertificateFiles.WriteCertificateAndKey(gateway, Path.Combine(directory, "gateway.crt"), Path.Combine(directory, "gateway.key"));
        }

        Directory.CreateDirectory(Path.Combine(directory, "peers"));
        var peers = new List<PeerConfig>();
        for (var j = 0; j < nations.Count; j++)
        {
            if (j == index)
            {
                continue;
            }

            var peer = nations[j];
            var rootFile = Path.Combine("peers", peer.TrustDomain + ".crt");
            PemFiles.WriteCertificate(Path.Combine(directory, rootFile), authorities[j].Certificate);
            peers.Add(new PeerConfig
            {
                Id = new SpiffeId(peer.TrustDomain, WorkloadKind.Gateway, peer.Gateway).ToString(),
                TrustDomain = peer.TrustDomain,
                Address = $"https://127.0.0.1:{ports[j]}",
                Root = rootFile,
                RootPin = SpkiPin.Compute(authorities[j].Certificate),
                Outbound = Outbound(index, j, nations.Count),
                Inbound = Inbound(index, j),
            });
        }

        var config = new GatewayConfig
        {
            Node = new NodeConfig
            {
                TrustDomain = nation.TrustDomain,
                Name = nation.Gateway,
                Listen = $"127.0.0.1:{ports[index]}",
                Tls = new TlsConfig { Certificate = "gateway.crt", Key = "gateway.key", Root = CertificateFiles.RootCertificateName },
                TrustBundle = TrustBundleFile.DefaultName,
                KeysDirectory = "keys",
                Storage = "gateway.db",
                AdminSocket = "admin.sock",
            },
            Peers = peers,
        };
        GatewayConfigFile.Save(Path.Combine(directory, "gateway.json"), config);
        File.Delete(Path.Combine(directory, "gateway.json.bak"));

        var agents = new List<DevAgent>();
        foreach (var agentName in nation.Agents)
        {
            agents.Add(WriteAgent(directory, finalRoot, nation, authority, ports[index], gatewayId, agentName, agents.Count, options));
        }

        var finalDirectory = Path.Combine(finalRoot, nation.TrustDomain);
        return new DevNode
        {
            TrustDomain = nation.TrustDomain,
            Name = nation.Gateway,
            Id = gatewayId.ToString(),
            Directory = finalDirectory,
            ConfigPath = Path.Combine(finalDirectory, "gateway.json"),
            Port = ports[index],
            Address = $"https://127.0.0.1:{ports[index]}",
            RootCertificate = Path.Combine(finalDirectory, CertificateFiles.RootCertificateName),
            RootKey = Path.Combine(finalDirectory, CertificateFiles.RootKeyName),
            RootPin = SpkiPin.Compute(authority.Certificate),
            Certificate = Path.Combine(finalDirectory, "gateway.crt"),
            Key = Path.Combine(finalDirectory, "gateway.key"),
            AdminSocket = Path.Combine(finalDirectory, "admin.sock"),
            Agents = agents,
        };
    }

    private static DevAgent WriteAgent(
        string nationDirectory, string finalRoot, DevNation nation, CertificateAuthority authority, int gatewayPort, SpiffeId gatewayId,
        string agentName, int agentIndex, DevFederationOptions options)
    {
        var relative = Path.Combine("agents", agentName);
        var directory = Path.Combine(nationDirectory, relative);
        Directory.CreateDirectory(Path.Combine(directory, "feeds"));
        var id = new SpiffeId(nation.TrustDomain, WorkloadKind.Agent, agentName);
        using (var certificate = authority.Issue(id, options.CertificateLifetime, time: options.Time))
        {
            CertificateFiles.WriteCertificateAndKey(certificate, Path.Combine(directory, "agent.crt"), Path.Combine(directory, "agent.key"));
        }

        PemFiles.WriteCertificate(Path.Combine(directory, "root.crt"), authority.Certificate);
        var eve = agentIndex % 2 == 0;
        var document = new AgentConfigDocument
        {
            Name = agentName,
            TrustDomain = nation.TrustDomain,
            Gateway = new AgentGatewayDocument($"https://127.0.0.1:{gatewayPort}", gatewayId.ToString()),
            Tls = new AgentTlsDocument("agent.crt", "agent.key", "root.crt", SpkiPin.Compute(authority.Certificate)),
            HomeNet = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"],
            Allowlist = [],
            Sources =
            [
                eve
                    ? new AgentSourceDocument("suricata", "feeds/eve.json", "eve", "AMBER", 70, ["ids"], [nation.Sector])
                    : new AgentSourceDocument("zeek", "feeds/notice.log", "zeek", "AMBER", 60, ["nsm"], [nation.Sector]),
            ],
            Spool = new AgentSpoolDocument("spool", 64L * 1024 * 1024),
            Batch = new AgentBatchDocument(500, 200),
            StateFile = "agent-state.json",
        };
        var configPath = Path.Combine(directory, "agent.json");
        File.WriteAllText(configPath, JsonSerializer.Serialize(document, AgentConfigJsonContext.Default.AgentConfigDocument) + "\n");

        var finalDirectory = Path.Combine(finalRoot, nation.TrustDomain, relative);
        return new DevAgent(
            agentName,
            id.ToString(),
            finalDirectory,
            Path.Combine(finalDirectory, "agent.json"),
            Path.Combine(finalDirectory, "agent.crt"),
            Path.Combine(finalDirectory, "agent.key"),
            Path.Combine(finalDirectory, "feeds"));
    }

    /// <summary>
    /// Policies differ by direction so the federation shows sovereignty at work: the next nation in the
    /// ring gets AMBER without relay, the others GREEN network indicators they may relay; the second
    /// nation also shares nothing below confidence 70; nobody gets RED.
    /// </summary>
    private static OutboundPolicyConfig Outbound(int from, int to, int count)
    {
        var neighbour = (to - from + count) % count == 1;
        var policy = neighbour
            ? new OutboundPolicyConfig { TlpCeiling = "AMBER", MinConfidence = 50, AllowRelay = false, BlockedTags = ["internal"] }
            : new OutboundPolicyConfig { TlpCeiling = "GREEN", AllowedTypes = ["ipv4", "ipv6", "domain", "url"], AllowRelay = true, BlockedTags = ["internal"] };
        return from == 1 ? policy with { MinConfidence = Math.Max(policy.MinConfidence, 70) } : policy;
    }

    private static InboundPolicyConfig Inbound(int self, int peer) =>
        (self + peer) % 2 == 0
            ? new InboundPolicyConfig { Mode = "accept", TrustWeight = 0.8 }
            : new InboundPolicyConfig { Mode = "accept", TrustWeight = 1.0 };
}
