using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

public sealed class OriginsCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly DevFederationLayout _federation;
    private readonly string _riga;

    public OriginsCommandTests()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
        _riga = _federation.Nodes[2].ConfigPath;
    }

    private DevNode Estonia => _federation.Nodes[0];

    public void Dispose() => _temp.Dispose();

    private async Task StopPeeringWithEstoniaAsync()
    {
        var removed = await CliRun.RunAsync("peers", "remove", "--config", _riga, Estonia.Id);
        Assert.Equal(0, removed.ExitCode);
    }

    [Fact]
    public async Task A_relayed_domains_root_is_pinned_listed_and_removed()
    {
        await StopPeeringWithEstoniaAsync();

        var added = await CliRun.RunAsync("origins", "add", "--config", _riga, "--domain", "ee.cybercoop", "--root", Estonia.RootCertificate, "--pin", Estonia.RootPin);
        var listed = await CliRun.RunAsync("origins", "list", "--config", _riga);

        Assert.Equal(0, added.ExitCode);
        var origin = Assert.Single(GatewayConfigFile.Load(_riga).Config.TrustedOrigins);
        Assert.Equal(("ee.cybercoop", Estonia.RootPin), (origin.TrustDomain, origin.RootPin));
        Assert.Contains(Estonia.RootPin, listed.Output, StringComparison.Ordinal);

        var removed = await CliRun.RunAsync("origins", "remove", "--config", _riga, "ee.cybercoop");

        Assert.Equal(0, removed.ExitCode);
        Assert.Empty(GatewayConfigFile.Load(_riga).Config.TrustedOrigins);
    }

    [Fact]
    public async Task A_wrong_pin_is_refused_and_nothing_is_written()
    {
        await StopPeeringWithEstoniaAsync();
        var before = File.ReadAllText(_riga);

        var result = await CliRun.RunAsync("origins", "add", "--config", _riga, "--domain", "ee.cybercoop", "--root", Estonia.RootCertificate, "--pin", _federation.Nodes[1].RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("pin mismatch", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_riga));
    }

    [Fact]
    public async Task Another_domains_root_cannot_be_pinned_for_a_domain()
    {
        await StopPeeringWithEstoniaAsync();

        var result = await CliRun.RunAsync("origins", "add", "--config", _riga, "--domain", "ee.cybercoop",
            "--root", _federation.Nodes[1].RootCertificate, "--pin", _federation.Nodes[1].RootPin);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("cannot be the root of ee.cybercoop", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_domain_already_pinned_as_a_peer_or_the_own_domain_is_refused()
    {
        var peerDomain = await CliRun.RunAsync("origins", "add", "--config", _riga, "--domain", "ee.cybercoop", "--root", Estonia.RootCertificate, "--pin", Estonia.RootPin);
        var ownDomain = await CliRun.RunAsync("origins", "add", "--config", _riga, "--domain", "lv.cybercoop",
            "--root", _federation.Nodes[2].RootCertificate, "--pin", _federation.Nodes[2].RootPin);

        Assert.Equal(CliExitCodes.Failure, peerDomain.ExitCode);
        Assert.Contains("already pinned as the domain of peer", peerDomain.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, ownDomain.ExitCode);
        Assert.Contains("own domain", ownDomain.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(_federation.Nodes[2].Directory, "peers")), f => Path.GetFileName(f).StartsWith("lv.cybercoop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Removing_an_unknown_origin_names_the_trusted_ones()
    {
        var result = await CliRun.RunAsync("origins", "remove", "--config", _riga, "se.cybercoop");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("trusted: none", result.Error, StringComparison.Ordinal);
    }
}
