using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Cli.Peers;
using CyberCoop.Gateway.Configuration;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

public sealed class PeersCommandTests : IDisposable
{
    private const string Helsinki = "spiffe://fi.cybercoop/gateway/helsinki";
    private readonly TempDirectory _temp = new();
    private readonly DevFederationLayout _federation;
    private readonly string _config;

    public PeersCommandTests()
    {
        _federation = DevFederationFixture.Create(_temp.Combine("fed"));
        _config = _federation.Nodes[0].ConfigPath;
    }

    private DevNode Finland => _federation.Nodes[1];

    public void Dispose() => _temp.Dispose();

    private async Task RemoveHelsinkiAsync()
    {
        var removed = await CliRun.RunAsync("peers", "remove", "--config", _config, Helsinki);
        Assert.Equal(0, removed.ExitCode);
        File.Delete(_config + ".bak");
    }

    [Fact]
    public async Task Add_pins_the_root_when_the_pin_matches()
    {
        await RemoveHelsinkiAsync();

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", Finland.RootPin.ToUpperInvariant().Replace("SHA256:", "sha256:", StringComparison.Ordinal), "--tlp-ceiling", "GREEN");

        Assert.Equal(0, result.ExitCode);
        var loaded = GatewayConfigFile.Load(_config);
        var peer = Assert.Single(loaded.Config.Peers, p => p.Id == Helsinki);
        Assert.Equal(Finland.RootPin, peer.RootPin);
        Assert.Equal("GREEN", peer.Outbound.TlpCeiling);
        Assert.Equal(File.ReadAllText(Finland.RootCertificate).Trim(), File.ReadAllText(loaded.Resolve(peer.Root)).Trim());
        Assert.True(File.Exists(_config + ".bak"));
        Assert.Contains("next start", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_refuses_a_pin_of_another_root_and_changes_nothing()
    {
        await RemoveHelsinkiAsync();
        var before = File.ReadAllText(_config);
        var peersFolder = Directory.GetFiles(Path.Combine(_federation.Nodes[0].Directory, "peers"));

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", _federation.Nodes[2].RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("pin mismatch", result.Error, StringComparison.Ordinal);
        Assert.Contains(Finland.RootPin, result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
        Assert.False(File.Exists(_config + ".bak"));
        Assert.Equal(peersFolder, Directory.GetFiles(Path.Combine(_federation.Nodes[0].Directory, "peers")));
    }

    [Theory]
    [InlineData("sha256:1234")]
    [InlineData("md5:00112233445566778899aabbccddeeff")]
    [InlineData("not-a-pin")]
    public async Task Add_rejects_a_malformed_pin_as_a_usage_error(string pin)
    {
        await RemoveHelsinkiAsync();
        var before = File.ReadAllText(_config);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", pin);

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains("--pin", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Add_without_pin_is_refused_when_nobody_is_at_a_terminal()
    {
        await RemoveHelsinkiAsync();
        var before = File.ReadAllText(_config);
        var prompt = new ScriptedPrompt(interactive: false, answer: "yes");

        var result = await CliRun.RunAsync(CliRun.Root(PeersCommand.Create(prompt)), "peers", "add", "--config", _config, "--id", Helsinki,
            "--address", Finland.Address, "--root", Finland.RootCertificate);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("no --pin", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, prompt.Questions);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Add_without_pin_shows_the_fingerprint_and_adds_only_after_yes()
    {
        await RemoveHelsinkiAsync();
        var before = File.ReadAllText(_config);

        var declined = await CliRun.RunAsync(CliRun.Root(PeersCommand.Create(new ScriptedPrompt(true, "no"))), "peers", "add", "--config", _config,
            "--id", Helsinki, "--address", Finland.Address, "--root", Finland.RootCertificate);

        Assert.Equal(CliExitCodes.Failure, declined.ExitCode);
        Assert.Contains(Finland.RootPin, declined.Output, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));

        var confirmed = await CliRun.RunAsync(CliRun.Root(PeersCommand.Create(new ScriptedPrompt(true, "yes"))), "peers", "add", "--config", _config,
            "--id", Helsinki, "--address", Finland.Address, "--root", Finland.RootCertificate);

        Assert.Equal(0, confirmed.ExitCode);
        Assert.Contains(GatewayConfigFile.Load(_config).Config.Peers, p => p.Id == Helsinki && p.RootPin == Finland.RootPin);
    }

    [Fact]
    public async Task Add_fails_clearly_when_the_root_file_is_missing()
    {
        await RemoveHelsinkiAsync();

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", _temp.Combine("missing.crt"), "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("does not exist", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_refuses_a_leaf_certificate_offered_as_root()
    {
        await RemoveHelsinkiAsync();
        using var gateway = PemFiles.LoadCertificate(Finland.Certificate);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.Certificate, "--pin", SpkiPin.Compute(gateway));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("not a CA certificate", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_refuses_a_peer_that_is_already_configured()
    {
        var before = File.ReadAllText(_config);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("already configured", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Add_refuses_to_edit_an_invalid_config_and_leaves_it_untouched()
    {
        await RemoveHelsinkiAsync();
        var broken = File.ReadAllText(_config).Replace("\"tlpCeiling\": \"GREEN\"", "\"tlpCeiling\": \"PURPLE\"", StringComparison.Ordinal);
        File.WriteAllText(_config, broken);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("tlpCeiling", result.Error, StringComparison.Ordinal);
        Assert.Equal(broken, File.ReadAllText(_config));
        Assert.False(File.Exists(_config + ".bak"));
    }

    [Fact]
    public async Task Add_rejects_ids_that_are_not_gateways_and_red_ceilings()
    {
        await RemoveHelsinkiAsync();

        var agent = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", "spiffe://fi.cybercoop/agent/water-sensor",
            "--address", Finland.Address, "--root", Finland.RootCertificate, "--pin", Finland.RootPin);
        var red = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", Finland.Address, "--root", Finland.RootCertificate, "--pin", Finland.RootPin, "--tlp-ceiling", "RED");
        var http = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", "http://127.0.0.1:1", "--root", Finland.RootCertificate, "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Usage, agent.ExitCode);
        Assert.Equal(CliExitCodes.Usage, red.ExitCode);
        Assert.Equal(CliExitCodes.Usage, http.ExitCode);
    }

    [Fact]
    public async Task List_shows_every_peer_with_its_pin()
    {
        var result = await CliRun.RunAsync("peers", "list", "--config", _config);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(Helsinki, result.Output, StringComparison.Ordinal);
        Assert.Contains("spiffe://lv.cybercoop/gateway/riga", result.Output, StringComparison.Ordinal);
        Assert.Contains(Finland.RootPin, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_prints_the_policy_and_an_unknown_peer_is_an_error_naming_the_known_ones()
    {
        var shown = await CliRun.RunAsync("peers", "show", "--config", _config, Helsinki);
        var unknown = await CliRun.RunAsync("peers", "show", "--config", _config, "spiffe://se.cybercoop/gateway/stockholm");

        Assert.Equal(0, shown.ExitCode);
        Assert.Contains("outbound tlp ceiling", shown.Output, StringComparison.Ordinal);
        Assert.Contains(Finland.RootPin, shown.Output, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, unknown.ExitCode);
        Assert.Contains(Helsinki, unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remove_drops_the_peer_and_keeps_the_previous_file_as_backup()
    {
        var result = await CliRun.RunAsync("peers", "remove", "--config", _config, Helsinki);

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain(GatewayConfigFile.Load(_config).Config.Peers, p => p.Id == Helsinki);
        Assert.Contains(Helsinki, File.ReadAllText(_config + ".bak"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remove_of_a_missing_config_says_the_file_does_not_exist()
    {
        var result = await CliRun.RunAsync("peers", "remove", "--config", _temp.Combine("none.json"), Helsinki);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("does not exist", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_checks_the_live_peer_against_the_given_root_pin_and_identity()
    {
        await RemoveHelsinkiAsync();
        await using var server = await TlsPeer.StartAsync(Finland.Certificate, Finland.Key, Finland.RootCertificate);

        var wrongId = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", "spiffe://fi.cybercoop/gateway/turku",
            "--address", server.Address, "--fetch", "--root", Finland.RootCertificate, "--pin", Finland.RootPin);
        var otherRoot = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", server.Address, "--fetch", "--root", _federation.Nodes[2].RootCertificate, "--pin", _federation.Nodes[2].RootPin);
        var added = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", server.Address, "--fetch", "--root", Finland.RootCertificate, "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, wrongId.ExitCode);
        Assert.Contains("not spiffe://fi.cybercoop/gateway/turku", wrongId.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, otherRoot.ExitCode);
        Assert.Contains("cannot be the root of fi.cybercoop", otherRoot.Error, StringComparison.Ordinal);
        Assert.Equal(0, added.ExitCode);
        Assert.Contains(GatewayConfigFile.Load(_config).Config.Peers, p => p.Id == Helsinki && p.RootPin == Finland.RootPin);
    }

    [Fact]
    public async Task Fetch_refuses_a_live_peer_whose_certificate_was_not_issued_by_the_pinned_root()
    {
        await RemoveHelsinkiAsync();
        await CliRun.RunAsync("certs", "init-domain", "--domain", "fi.cybercoop", "--out", _temp.Combine("impostor"));
        using var impostorRoot = PemFiles.LoadCertificate(_temp.Combine("impostor", "root.crt"));
        await using var server = await TlsPeer.StartAsync(Finland.Certificate, Finland.Key, Finland.RootCertificate);
        var before = File.ReadAllText(_config);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", server.Address, "--fetch", "--root", _temp.Combine("impostor", "root.crt"), "--pin", SpkiPin.Compute(impostorRoot));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("does not validate", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Fetch_without_root_is_refused_when_the_peer_does_not_send_its_root()
    {
        await RemoveHelsinkiAsync();
        var before = File.ReadAllText(_config);
        await using var server = await TlsPeer.StartAsync(Finland.Certificate, Finland.Key, Finland.RootCertificate);

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", server.Address, "--fetch", "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("--root", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_config));
    }

    [Fact]
    public async Task Fetch_from_an_address_where_nothing_listens_fails_clearly()
    {
        await RemoveHelsinkiAsync();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki,
            "--address", $"https://127.0.0.1:{port}", "--fetch", "--pin", Finland.RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("cannot connect", result.Error, StringComparison.Ordinal);
    }

    /// <summary>A TLS 1.3 server on loopback that presents a gateway certificate with its chain up to the root.</summary>
    private sealed class TlsPeer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private TlsPeer(TcpListener listener, SslStreamCertificateContext context)
        {
            _listener = listener;
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    using (client)
                    {
                        using var ssl = new SslStream(client.GetStream());
                        try
                        {
                            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                            {
                                ServerCertificateContext = context,
                                EnabledSslProtocols = SslProtocols.Tls13,
                                ClientCertificateRequired = true,
                                RemoteCertificateValidationCallback = (_, c, _, _) => c is not null,
                            }, _stop.Token);
                        }
                        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
                        {
                            // The CLI only looks at the chain and never presents a client certificate.
                        }
                    }
                }
            });
        }

        public string Address => $"https://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public static Task<TlsPeer> StartAsync(string certificate, string key, string root)
        {
            var leaf = PemFiles.LoadCertificateWithKey(certificate, key);
            var rootCertificate = PemFiles.LoadCertificate(root);
            var context = SslStreamCertificateContext.Create(leaf, new X509Certificate2Collection(rootCertificate), offline: true);
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return Task.FromResult(new TlsPeer(listener, context));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            _listener.Dispose();
            _stop.Dispose();
        }
    }
}
