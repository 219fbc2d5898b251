using System.Net;
using System.Net.Sockets;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Cli.Peers;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>
/// <c>peers add --fetch</c> against a real running gateway (Kestrel, mutual TLS) that has not pinned the adding
/// node's domain yet (first contact): the root comes from the peer's trust bundle and is pinned only when it matches.
/// </summary>
public sealed class PeersFetchTests : IAsyncLifetime
{
    private const string Helsinki = "spiffe://fi.cybercoop/gateway/helsinki";
    private const string Tallinn = "spiffe://ee.cybercoop/gateway/tallinn";
    private readonly TempDirectory _temp = new();
    private DevFederationLayout _federation = null!;
    private GatewayNode _helsinki = null!;
    private string _config = null!;

    private DevNode Estonia => _federation.Nodes[0];

    private DevNode Finland => _federation.Nodes[1];

    private DevNode Latvia => _federation.Nodes[2];

    public async ValueTask InitializeAsync()
    {
        _federation = DevFederationFixture.Create(_temp.Combine("fed"));
        _config = Estonia.ConfigPath;
        // Neither side knows the other yet: Estonia drops Helsinki, Finland drops Tallinn (and with it ee's root).
        Assert.Equal(0, (await CliRun.RunAsync("peers", "remove", "--config", _config, Helsinki)).ExitCode);
        Assert.Equal(0, (await CliRun.RunAsync("peers", "remove", "--config", Finland.ConfigPath, Tallinn)).ExitCode);
        File.Delete(_config + ".bak");
        _helsinki = await GatewayNode.StartAsync(Finland.ConfigPath, new GatewayNodeOptions { ConfigureLogging = logging => logging.ClearProviders() },
            TestContext.Current.CancellationToken);
        Assert.DoesNotContain("ee.cybercoop", (IReadOnlySet<string>)_helsinki.Runtime.Trust.PinnedDomains);
    }

    public async ValueTask DisposeAsync()
    {
        await _helsinki.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    private string[] PeersFolder() =>
        Directory.Exists(Path.Combine(Estonia.Directory, "peers")) ? Directory.GetFiles(Path.Combine(Estonia.Directory, "peers")) : [];

    [Fact]
    public async Task Fetch_reads_the_root_from_the_running_peer_and_pins_it_when_the_pin_matches()
    {
        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--fetch", "--pin", Finland.RootPin);

        Assert.True(result.ExitCode == 0, result.ToString());
        var loaded = GatewayConfigFile.Load(_config);
        var peer = Assert.Single(loaded.Config.Peers, p => p.Id == Helsinki);
        Assert.Equal(Finland.RootPin, peer.RootPin);
        Assert.Equal(Finland.Address, peer.Address);
        using (var written = PemFiles.LoadCertificate(loaded.Resolve(peer.Root)))
        using (var expected = PemFiles.LoadCertificate(Finland.RootCertificate))
        {
            Assert.Equal(expected.RawData, written.RawData);
        }

        Assert.True(File.Exists(_config + ".bak"));
        Assert.Contains("valid under the root", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_with_the_pin_of_another_root_is_refused_and_changes_nothing()
    {
        var before = File.ReadAllText(_config);
        var files = PeersFolder();

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--fetch", "--pin", Latvia.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("pin mismatch", result.Error, StringComparison.Ordinal);
        Assert.Contains(Finland.RootPin, result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
        Assert.False(File.Exists(_config + ".bak"));
        Assert.Equal(files, PeersFolder());
    }

    [Theory]
    [InlineData("sha256:1234")]
    [InlineData("sha1:00112233445566778899aabbccddeeff00112233")]
    [InlineData("")]
    public async Task Fetch_with_a_malformed_pin_is_a_usage_error(string pin)
    {
        var before = File.ReadAllText(_config);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address, "--fetch", "--pin", pin);

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains("--pin", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Fetch_from_an_address_where_nothing_listens_fails_clearly()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var before = File.ReadAllText(_config);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", $"https://127.0.0.1:{port}", "--fetch", "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("cannot connect", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Fetch_from_a_peer_that_turned_first_contact_off_is_refused_at_the_handshake_and_changes_nothing()
    {
        var finland = GatewayConfigFile.Load(Finland.ConfigPath).Config;
        GatewayConfigFile.Save(Finland.ConfigPath, finland with { Node = finland.Node with { FirstContact = false } });
        var (applied, messages) = _helsinki.Runtime.Reload();
        Assert.True(applied, string.Join("; ", messages));
        var before = File.ReadAllText(_config);
        var files = PeersFolder();

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--fetch", "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Equal(before, File.ReadAllText(_config));
        Assert.Equal(files, PeersFolder());
        Assert.True(_helsinki.Runtime.Metrics.CallsDenied > 0);
        Assert.Contains("refuse this node's certificate", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_from_a_gateway_of_another_trust_domain_than_stated_is_refused()
    {
        var before = File.ReadAllText(_config);

        // The operator believes the address is a Latvian gateway's, but Helsinki answers there.
        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", "spiffe://lv.cybercoop/gateway/daugavpils",
            "--address", Finland.Address, "--fetch", "--pin", Latvia.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("not of lv.cybercoop", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Fetch_from_another_gateway_of_the_stated_domain_is_refused()
    {
        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", "spiffe://fi.cybercoop/gateway/turku",
            "--address", Finland.Address, "--fetch", "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("not spiffe://fi.cybercoop/gateway/turku", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_with_a_root_file_of_an_impostor_domain_root_is_refused()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "fi.cybercoop", "--out", _temp.Combine("impostor"));
        using var impostor = PemFiles.LoadCertificate(_temp.Combine("impostor", "root.crt"));
        var before = File.ReadAllText(_config);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--fetch", "--root", _temp.Combine("impostor", "root.crt"), "--pin", SpkiPin.Compute(impostor));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("not the one in --root", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Fetch_without_pin_is_refused_when_nobody_is_at_a_terminal()
    {
        var before = File.ReadAllText(_config);
        var prompt = new ScriptedPrompt(interactive: false, answer: "yes");

        var result = await CliRun.RunAsync(CliRun.Root(PeersCommand.Create(prompt)), "peers", "add", "--config", _config, "--id", Helsinki,
            "--address", Finland.Address, "--fetch");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("no --pin", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, prompt.Questions);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Fetch_without_pin_at_a_terminal_shows_the_fetched_roots_fingerprint_and_adds_after_yes()
    {
        var before = File.ReadAllText(_config);

        var declined = await CliRun.RunAsync(CliRun.Root(PeersCommand.Create(new ScriptedPrompt(true, "no"))), "peers", "add", "--config", _config,
            "--id", Helsinki, "--address", Finland.Address, "--fetch");
        Assert.Equal(CliExitCodes.Failure, declined.ExitCode);
        Assert.Contains(Finland.RootPin, declined.Output, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));

        var confirmed = await CliRun.RunAsync(CliRun.Root(PeersCommand.Create(new ScriptedPrompt(true, "yes"))), "peers", "add", "--config", _config,
            "--id", Helsinki, "--address", Finland.Address, "--fetch");

        Assert.True(confirmed.ExitCode == 0, confirmed.ToString());
        Assert.Contains(GatewayConfigFile.Load(_config).Config.Peers, p => p.Id == Helsinki && p.RootPin == Finland.RootPin);
    }

    [Fact]
    public async Task Fetch_fails_clearly_when_this_nodes_own_certificate_cannot_be_loaded()
    {
        File.WriteAllText(Estonia.Key, "not a key");

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--fetch", "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("node.tls", result.Error, StringComparison.Ordinal);
    }
}
