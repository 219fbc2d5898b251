using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Console.Tests;

/// <summary>
/// The demo's three nations (Estonia, Finland, Latvia) as real gateways on loopback with their consoles on, and real
/// sensor agents that have sent sightings over mutual TLS, so every page has real data: peers connected, indicators
/// received and withheld, audit entries, agents.
/// </summary>
public sealed partial class ConsoleFederation : IAsyncLifetime
{
    /// <summary>An AMBER indicator Estonia's agent saw: shared to Finland, withdrawable by Estonia.</summary>
    public const string AmberDomain = "c2.console-test.example";

    /// <summary>A RED indicator Estonia's agent saw: withheld from Finland by the TLP ceiling.</summary>
    public const string RedDomain = "red.console-test.example";

    /// <summary>A GREEN indicator Finland's agent saw: shared to Estonia and (redacted) to Latvia.</summary>
    public const string GreenAddress = "198.51.100.23";

    private readonly string _directory = Directory.CreateTempSubdirectory("cc-con-").FullName;
    private DemoFederation _federation = null!;
    private readonly List<DemoAgent> _agents = [];

    internal DemoFederation Federation => _federation;

    internal DevNode Estonia => _federation.Layout.Nodes[0];

    internal GatewayNode EstoniaNode => _federation.Nodes[0];

    /// <summary>Estonia's console address, e.g. <c>https://127.0.0.1:41234/</c>.</summary>
    public string EstoniaUrl => EstoniaNode.ConsoleUrl!;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        _federation = await DemoFederation.StartAsync(_directory, TimeProvider.System, console: true, ct);
        foreach (var (node, index) in _federation.Layout.Nodes.Select((n, i) => (n, i)))
        {
            _agents.Add(DemoAgent.Connect(node, node.Agents[0], TimeProvider.System));
        }

        await _agents[0].SendAsync(
        [
            new DemoDetection(IndicatorType.Domain, AmberDomain, Tlp.Amber, 85, "ids-tallinn-1", "ET MALWARE C2 beacon", "c2"),
            new DemoDetection(IndicatorType.Domain, RedDomain, Tlp.Red, 90, "ids-tallinn-1", "internal investigation", "apt"),
        ], ct);
        await _agents[1].SendAsync([new DemoDetection(IndicatorType.Ipv4, GreenAddress, Tlp.Green, 70, "fw-helsinki-2", "scanner", "scanning")], ct);

        // Federated: Finland holds Estonia's AMBER indicator, Estonia holds Finland's GREEN one.
        await WaitUntilAsync(async () =>
            await _federation.Nodes[1].Runtime.Store.GetIndicatorAsync(IdOf(IndicatorType.Domain, AmberDomain), ct) is not null
            && await EstoniaNode.Runtime.Store.GetIndicatorAsync(IdOf(IndicatorType.Ipv4, GreenAddress), ct) is not null,
            "indicators to cross the federation");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        await _federation.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The indicator id of type:value, as the node computes it.</summary>
    public static string IdOf(IndicatorType type, string value) =>
        Gateway.Cli.IndicatorLifecycleCommands.ParseIndicator($"{Gateway.Pipeline.IndicatorTypeNames.ToName(type)}:{value}");

    /// <summary>PEM paths of Estonia's development operator (<see cref="DemoFederation.ConsoleOperator"/> or <see cref="DemoFederation.ConsoleViewer"/>).</summary>
    internal (string Certificate, string Key) EstoniaOperator(string name) => DemoFederation.OperatorCertificate(Estonia, name);

    /// <summary>Estonia's root certificate (to check the console's server certificate).</summary>
    internal X509Certificate2 EstoniaRoot => X509CertificateLoader.LoadCertificateFromFile(Estonia.RootCertificate);

    /// <summary>Estonia's certificate authority, to issue other kinds of certificates in tests.</summary>
    internal CertificateAuthority EstoniaAuthority() => CertificateFiles.LoadAuthority(Path.GetDirectoryName(Estonia.RootCertificate)!);

    /// <summary>An HTTP client for Estonia's console presenting <paramref name="certificate"/> (none when null), trusting only Estonia's root.</summary>
    internal HttpClient Client(X509Certificate2? certificate)
    {
        var root = EstoniaRoot;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = true,
            CookieContainer = new System.Net.CookieContainer(),
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, server, _, _) => RootChain.Validates(server, root);
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }

        return new HttpClient(handler) { BaseAddress = new Uri(EstoniaUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Loads a PEM certificate with its key.</summary>
    internal static X509Certificate2 Load((string Certificate, string Key) pem) => PemFiles.LoadCertificateWithKey(pem.Certificate, pem.Key);

    /// <summary>The CSRF token of the first action form on a console page (HTML-decoded).</summary>
    public static string CsrfToken(string page) =>
        WebUtility.HtmlDecode(CsrfField().Match(page) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("no CSRF token on the page"));

    /// <summary>Runs a gateway CLI command in this process; fails the test unless it exits 0; returns its output.</summary>
    public static async Task<string> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await Gateway.Cli.CliInvocation.InvokeAsync(Gateway.Cli.GatewayCommandLine.Build(), args, new System.CommandLine.InvocationConfiguration { Output = output, Error = error }, TestContext.Current.CancellationToken);
        Assert.True(exit == 0, $"exit {exit}: {error}");
        return output.ToString();
    }

    /// <summary>Estonia's audit entries matching <paramref name="match"/>, once there are at least <paramref name="atLeast"/> (entries are written asynchronously).</summary>
    internal async Task<List<Gateway.Storage.AuditEntry>> EstoniaAuditAsync(Func<Gateway.Storage.AuditEntry, bool> match, int atLeast)
    {
        var entries = new List<Gateway.Storage.AuditEntry>();
        await WaitUntilAsync(async () =>
        {
            entries.Clear();
            await foreach (var entry in EstoniaNode.Runtime.Store.Audit.TailAsync(100_000, TestContext.Current.CancellationToken))
            {
                if (match(entry))
                {
                    entries.Add(entry);
                }
            }

            return entries.Count >= atLeast;
        }, "the audit entries", TimeSpan.FromSeconds(120));
        return entries;
    }

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    /// <summary>Awaits <paramref name="condition"/> with a generous timeout (the machine may be loaded).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(100);
        }
    }
}
