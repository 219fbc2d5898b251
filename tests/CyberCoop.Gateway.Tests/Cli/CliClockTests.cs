using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>
/// The command line reads one clock, given where it is composed (<see cref="GatewayCommandLine.Build"/>): certificate
/// windows, trust-bundle dates and the ages and expiry warnings of <c>status</c> follow it, not the machine's clock.
/// </summary>
public sealed class CliClockTests : IDisposable
{
    // Far from today on purpose: anything dated by the machine clock instead would stand out by years.
    private static readonly DateTimeOffset Then = new(2031, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _clock = new(Then);

    public void Dispose() => _temp.Dispose();

    private Task<CliResult> RunAsync(params string[] args) => CliRun.RunAsync(GatewayCommandLine.Build(_clock), args);

    [Fact]
    public async Task Certs_issue_dates_the_certificate_window_by_the_command_line_clock()
    {
        Assert.Equal(0, (await RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"))).ExitCode);
        _clock.Advance(TimeSpan.FromDays(3));

        var result = await RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "agent", "--name", "grid-sensor", "--out", _temp.Combine("agent"), "--days", "7");

        Assert.Equal(0, result.ExitCode);
        using var root = PemFiles.LoadCertificate(_temp.Combine("ca", "root.crt"));
        Assert.Equal((Then - CertificateAuthority.ClockSkewAllowance).UtcDateTime, root.NotBefore.ToUniversalTime());
        using var certificate = PemFiles.LoadCertificate(_temp.Combine("agent", "grid-sensor.crt"));
        var issuedAt = Then.AddDays(3);
        Assert.Equal((issuedAt - CertificateAuthority.ClockSkewAllowance).UtcDateTime, certificate.NotBefore.ToUniversalTime());
        Assert.Equal(issuedAt.AddDays(7).UtcDateTime, certificate.NotAfter.ToUniversalTime());
    }

    [Fact]
    public async Task The_first_trust_bundle_is_dated_and_checked_for_expiry_by_the_command_line_clock()
    {
        Assert.Equal(0, (await RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"))).ExitCode);
        var bundle = DomainCaFolder.BundlePath(_temp.Combine("ca"));

        var fresh = await RunAsync("certs", "bundle", "show", bundle);
        _clock.Advance(TimeSpan.FromDays(TrustBundleEditing.DefaultBundleDays + 1));
        var expired = await RunAsync("certs", "bundle", "show", bundle);

        Assert.Equal(0, fresh.ExitCode);
        Assert.Contains("issued         2031-03-01", fresh.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("EXPIRED", fresh.Output, StringComparison.Ordinal);
        Assert.Equal(0, expired.ExitCode);
        Assert.Contains("(EXPIRED: re-sign it with 'certs bundle sign')", expired.Output, StringComparison.Ordinal);
        Assert.Contains("warning: this bundle expired at", expired.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_measures_ages_and_certificate_expiry_against_the_command_line_clock()
    {
        var federation = DevFederationFixture.Create(_temp.Path);
        var node = federation.Nodes[0];
        await using var server = await FakeAdminServer.StartAsync(node.AdminSocket);
        server.State.Status = new NodeStatus
        {
            Node = "spiffe://ee.cybercoop/gateway/tallinn",
            StartedAt = Timestamp.FromDateTimeOffset(Then.AddMinutes(-90)),
            CertificateNotAfter = Timestamp.FromDateTimeOffset(Then.AddDays(2)),
        };

        var soon = await RunAsync("status", "--config", node.ConfigPath);
        _clock.Advance(TimeSpan.FromDays(3));
        var late = await RunAsync("status", "--config", node.ConfigPath);

        Assert.Equal(0, soon.ExitCode);
        Assert.Contains("(1h30m ago)", soon.Output, StringComparison.Ordinal);
        Assert.Contains("warning: the node's TLS certificate expires in 2d;", soon.Error, StringComparison.Ordinal);
        Assert.Equal(0, late.ExitCode);
        Assert.Contains("(3d ago)", late.Output, StringComparison.Ordinal);
        Assert.Contains("the node's TLS certificate has EXPIRED", late.Error, StringComparison.Ordinal);
    }
}
