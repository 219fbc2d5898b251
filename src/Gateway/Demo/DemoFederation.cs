using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Demo;

/// <summary>
/// The demo's three nations: development certificates made by <see cref="DevFederation"/>, then the
/// per-peer policies of the demo written into each gateway.json, then three real gateways started
/// in-process (each its own Kestrel on a loopback port, its own SQLite database and admin socket).
/// </summary>
/// <remarks>
/// Topology: Estonia and Latvia peer only with Finland; what they share with each other travels by
/// relay through Finland (CLEAR/GREEN only, when the origin allows it), and each pins the other's
/// root only as a trusted origin, to verify the relayed content's signature.
/// <code>
///  Estonia ee  &lt;-- AMBER, relay of GREEN allowed --&gt;  Finland fi  &lt;-- GREEN only, redacted --&gt;  Latvia lv
/// </code>
/// </remarks>
internal sealed class DemoFederation : IAsyncDisposable
{
    private DemoFederation(DevFederationLayout layout) => Layout = layout;

    /// <summary>What <see cref="DevFederation"/> wrote.</summary>
    public DevFederationLayout Layout { get; }

    /// <summary>The running gateways, in the order of <see cref="DevNation.Defaults"/> (ee, fi, lv).</summary>
    public List<GatewayNode> Nodes { get; } = [];

    /// <summary>Short upper-case code of nation <paramref name="index"/> ("EE").</summary>
    public string Code(int index) => CodeOf(Layout.Nodes[index].TrustDomain);

    /// <summary>"ee.cybercoop" -> "EE".</summary>
    public static string CodeOf(string trustDomain) => trustDomain.Split('.')[0].ToUpperInvariant();

    /// <summary>Name of the development operator with the role <c>operator</c> (<see cref="OperatorCertificate"/>).</summary>
    public const string ConsoleOperator = "console-admin";

    /// <summary>Name of the development operator without a role (read-only).</summary>
    public const string ConsoleViewer = "console-viewer";

    /// <summary>Makes the material in <paramref name="directory"/>, writes the policies and starts the gateways.</summary>
    public static Task<DemoFederation> StartAsync(string directory, TimeProvider time, CancellationToken ct) =>
        StartAsync(directory, time, console: false, ct);

    /// <summary>
    /// As <see cref="StartAsync(string, TimeProvider, CancellationToken)"/>; with <paramref name="console"/> each gateway also
    /// serves the operator console on a free loopback port, with two development operator certificates in
    /// <c>&lt;node&gt;/operators/</c>: <see cref="ConsoleOperator"/> (role operator) and <see cref="ConsoleViewer"/> (read-only).
    /// </summary>
    public static async Task<DemoFederation> StartAsync(string directory, TimeProvider time, bool console, CancellationToken ct)
    {
        var layout = DevFederation.Create(directory, new DevFederationOptions { BasePort = 0, CertificateLifetime = TimeSpan.FromDays(1) });
        var federation = new DemoFederation(layout);
        try
        {
            WritePolicies(layout);
            EnableTaxii(layout.Nodes[DemoInterop.NationIndex]);
            if (console)
            {
                foreach (var node in layout.Nodes)
                {
                    EnableConsole(node);
                }
            }

            foreach (var node in layout.Nodes)
            {
                federation.Nodes.Add(await GatewayNode.StartAsync(node.ConfigPath, new GatewayNodeOptions
                {
                    Time = time,
                    ConfigureLogging = logging => logging.ClearProviders().SetMinimumLevel(LogLevel.None),
                }, ct).ConfigureAwait(false));
            }

            return federation;
        }
        catch
        {
            await federation.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The demo's policies. Each line is a sovereignty or mistrust decision a real operator could make.</summary>
    private static void WritePolicies(DevFederationLayout layout)
    {
        var (ee, fi, lv) = (layout.Nodes[0], layout.Nodes[1], layout.Nodes[2]);
        Rewrite(ee, config =>
        {
            // Estonia -> Finland: up to AMBER, nothing below confidence 40, Finland may relay GREEN onwards.
            config = WithPeer(config, fi, p => p with
            {
                Outbound = new OutboundPolicyConfig { TlpCeiling = "AMBER", MinConfidence = 40, AllowRelay = true },
                Inbound = new InboundPolicyConfig { Mode = "accept", TrustWeight = 1.0 },
            });
            return TrustingOrigin(WithoutPeer(config, lv), lv);
        });
        Rewrite(fi, config =>
        {
            config = WithPeer(config, ee, p => p with
            {
                // Finland -> Estonia: AMBER, but no MD5 hashes and no e-mail addresses (privacy law).
                Outbound = new OutboundPolicyConfig
                {
                    TlpCeiling = "AMBER",
                    AllowRelay = true,
                    AllowedTypes = ["ipv4", "ipv6", "cidr", "domain", "url", "sha1", "sha256", "ja3", "asn", "cve"],
                },
                Inbound = new InboundPolicyConfig { Mode = "accept", TrustWeight = 1.0 },

                // Finland tells Estonia how often its sensors saw Estonia's indicators (counts only: no sensor, no host, no sector).
                SightingsBack = "counts",
            });

            // Finland -> Latvia: GREEN only, sensors, context and counts redacted, relay allowed.
            return WithPeer(config, lv, p => p with
            {
                Outbound = new OutboundPolicyConfig { TlpCeiling = "GREEN", AllowRelay = true, Redact = ["sensor", "context", "count"] },
                Inbound = new InboundPolicyConfig { Mode = "accept", TrustWeight = 0.9 },
            });
        });
        Rewrite(lv, config =>
        {
            config = WithPeer(config, fi, p => p with
            {
                // Latvia -> Finland: AMBER, nothing tagged internal, relay allowed; Latvia weights Finland's content 0.7.
                Outbound = new OutboundPolicyConfig { TlpCeiling = "AMBER", AllowRelay = true, BlockedTags = ["internal"] },
                Inbound = new InboundPolicyConfig { Mode = "accept", TrustWeight = 0.7 },

                // Latvia tells Finland how often its sensors saw what Finland gave it, Estonia's relayed indicators included
                // (Finland forwards those counts to Estonia under its own policy towards Estonia).
                SightingsBack = "counts",
            });
            return TrustingOrigin(WithoutPeer(config, ee), ee);
        });
    }

    /// <summary>The PEM certificate and key of development operator <paramref name="name"/> of <paramref name="node"/>.</summary>
    public static (string Certificate, string Key) OperatorCertificate(DevNode node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        var directory = Path.Combine(node.Directory, "operators");
        return (Path.Combine(directory, name + ".crt"), Path.Combine(directory, name + ".key"));
    }

    private static void EnableConsole(DevNode node)
    {
        using var authority = CertificateFiles.LoadAuthority(Path.GetDirectoryName(node.RootCertificate)!);
        foreach (var name in new[] { ConsoleOperator, ConsoleViewer })
        {
            var (certificatePath, keyPath) = OperatorCertificate(node, name);
            CertificateFiles.EnsureDirectory(Path.GetDirectoryName(certificatePath)!);
            using var certificate = authority.Issue(new Crypto.SpiffeId(node.TrustDomain, Crypto.WorkloadKind.Operator, name), TimeSpan.FromDays(1));
            CertificateFiles.WriteCertificateAndKey(certificate, certificatePath, keyPath);
        }

        Rewrite(node, config => config with
        {
            Console = new ConsoleConfig
            {
                Listen = "127.0.0.1:0",
                Operators = [new ConsoleOperatorConfig { Name = ConsoleOperator, Role = ConsoleRoles.Operator }],
            },
        });
    }

    /// <summary>The TAXII 2.1 server on a free loopback port, with one analyst (certificate only, AMBER) for the demo's pull.</summary>
    private static void EnableTaxii(DevNode node)
    {
        using var authority = CertificateFiles.LoadAuthority(Path.GetDirectoryName(node.RootCertificate)!);
        var (certificatePath, keyPath) = DemoInterop.AnalystCertificate(node);
        CertificateFiles.EnsureDirectory(Path.GetDirectoryName(certificatePath)!);
        using var certificate = authority.Issue(new Crypto.SpiffeId(node.TrustDomain, Crypto.WorkloadKind.Analyst, DemoInterop.Analyst), TimeSpan.FromDays(1));
        CertificateFiles.WriteCertificateAndKey(certificate, certificatePath, keyPath);
        Rewrite(node, config => config with
        {
            Taxii = new TaxiiConfig
            {
                Listen = "127.0.0.1:0",
                Analysts = [new TaxiiAnalystConfig { Name = DemoInterop.Analyst, Clearance = "AMBER" }],
            },
        });
    }

    private static void Rewrite(DevNode node, Func<GatewayConfig, GatewayConfig> change)
    {
        var loaded = GatewayConfigFile.Load(node.ConfigPath).Config;
        var config = change(loaded with { Node = loaded.Node with { Bundle = new BundleConfig { MaxIndicators = 1000, LingerMilliseconds = 50 } } });
        GatewayConfigFile.Save(node.ConfigPath, config);
        File.Delete(node.ConfigPath + ".bak");
    }

    /// <summary><paramref name="config"/> with its entry for <paramref name="peer"/> replaced by <paramref name="change"/>'s.</summary>
    private static GatewayConfig WithPeer(GatewayConfig config, DevNode peer, Func<PeerConfig, PeerConfig> change) =>
        config with { Peers = [.. config.Peers.Select(p => p.Id == peer.Id ? change(p) : p)] };

    private static GatewayConfig WithoutPeer(GatewayConfig config, DevNode peer) =>
        config with { Peers = [.. config.Peers.Where(p => p.Id != peer.Id)] };

    private static GatewayConfig TrustingOrigin(GatewayConfig config, DevNode origin) =>
        config with
        {
            TrustedOrigins =
            [
                .. config.TrustedOrigins,
                new TrustedOriginConfig
                {
                    TrustDomain = origin.TrustDomain,
                    Root = Path.Combine("peers", origin.TrustDomain + ".crt"),
                    RootPin = origin.RootPin,
                },
            ],
        };

    /// <summary>Stops every gateway (streams drained, databases closed, admin sockets removed).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        Nodes.Clear();
    }
}
