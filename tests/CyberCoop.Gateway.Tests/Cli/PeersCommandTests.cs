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
    public async Task Add_with_suite_pins_it_in_the_config_and_show_prints_it()
    {
        await RemoveHelsinkiAsync();

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", Finland.RootPin, "--suite", "classic");
        var shown = await CliRun.RunAsync("peers", "show", "--config", _config, Helsinki);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("suite classic pinned", result.Output, StringComparison.Ordinal);
        Assert.Equal("classic", Assert.Single(GatewayConfigFile.Load(_config).Config.Peers, p => p.Id == Helsinki).Suite);
        Assert.Matches(@"suite\s+classic", shown.Output);
    }

    [Fact]
    public async Task Add_without_suite_leaves_it_negotiated()
    {
        await RemoveHelsinkiAsync();

        var result = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", Finland.RootPin);
        var shown = await CliRun.RunAsync("peers", "show", "--config", _config, Helsinki);

        Assert.Equal(0, result.ExitCode);
        Assert.Null(Assert.Single(GatewayConfigFile.Load(_config).Config.Peers, p => p.Id == Helsinki).Suite);
        Assert.Matches(@"suite\s+negotiated", shown.Output);
    }

    [Fact]
    public async Task Add_refuses_an_unknown_suite_and_a_suite_below_the_minimum_and_changes_nothing()
    {
        await RemoveHelsinkiAsync();
        var before = File.ReadAllText(_config);
        var minimumHybrid = GatewayConfigFile.Load(_config).Config;
        GatewayConfigFile.Save(_config, minimumHybrid with { Node = minimumHybrid.Node with { Suite = "hybrid", MinimumSuite = "hybrid" } });
        var hybridOnly = File.ReadAllText(_config);

        var unknown = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", Finland.RootPin, "--suite", "quantum");
        var below = await CliRun.RunAsync("peers", "add", "--config", _config, "--id", Helsinki, "--address", Finland.Address,
            "--root", Finland.RootCertificate, "--pin", Finland.RootPin, "--suite", "classic");

        Assert.Equal(CliExitCodes.Usage, unknown.ExitCode);
        Assert.Contains("quantum", unknown.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, below.ExitCode);
        Assert.Contains("suite: 'classic' is below node.minimumSuite 'hybrid'", below.Error, StringComparison.Ordinal);
        Assert.Equal(hybridOnly, File.ReadAllText(_config));
        Assert.NotEqual(before, hybridOnly);
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
}
