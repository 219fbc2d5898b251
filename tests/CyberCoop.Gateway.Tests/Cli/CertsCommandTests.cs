using Xunit;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Tests.Cli;

public sealed class CertsCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string IdOf(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string rootPath)
    {
        using var root = PemFiles.LoadCertificate(rootPath);
        var result = new ChainValidator([TrustAnchor.FromRoot(root)]).Validate(certificate, null, CertificatePurpose.Client);
        Assert.True(result.IsValid, result.Reason);
        return result.Id.ToString()!;
    }

    [Fact]
    public async Task Init_domain_writes_root_and_private_key_and_prints_the_pin()
    {
        var result = await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));

        Assert.Equal(0, result.ExitCode);
        var rootPath = _temp.Combine("ca", "root.crt");
        var keyPath = _temp.Combine("ca", "root.key");
        Assert.True(File.Exists(rootPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(keyPath));
        using var root = PemFiles.LoadCertificate(rootPath);
        var pin = SpkiPin.Compute(root);
        Assert.Equal(pin, result.Output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public async Task Init_domain_refuses_to_overwrite_an_existing_root()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Path);
        var before = File.ReadAllText(_temp.Combine("root.crt"));

        var result = await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Path);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("already exists", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_temp.Combine("root.crt")));
    }

    [Theory]
    [InlineData("EE.cybercoop")]
    [InlineData("ee cybercoop")]
    [InlineData("ee.cybercoop:443")]
    [InlineData("")]
    public async Task Init_domain_rejects_an_invalid_trust_domain_and_writes_nothing(string domain)
    {
        var result = await CliRun.RunAsync("certs", "init-domain", "--domain", domain, "--out", _temp.Combine("ca"));

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains("--domain", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Combine("ca")));
    }

    [Fact]
    public async Task Issue_writes_a_workload_certificate_with_its_spiffe_id()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "agent", "--name", "grid-sensor", "--out", _temp.Combine("agent"), "--days", "7");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("spiffe://ee.cybercoop/agent/grid-sensor", result.Output, StringComparison.Ordinal);
        using var certificate = PemFiles.LoadCertificate(_temp.Combine("agent", "grid-sensor.crt"));
        Assert.Equal("spiffe://ee.cybercoop/agent/grid-sensor", IdOf(certificate, _temp.Combine("ca", "root.crt")));
        Assert.InRange(certificate.NotAfter.ToUniversalTime(), DateTime.UtcNow.AddDays(6.9), DateTime.UtcNow.AddDays(7.1));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(_temp.Combine("agent", "grid-sensor.key")));
        Assert.Contains(certificate.SerialNumber, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Issue_fails_clearly_when_the_ca_folder_has_no_root()
    {
        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("nothing"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("does not exist", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.Combine("node", "tallinn.crt")));
    }

    [Fact]
    public async Task Issue_with_a_corrupted_root_key_fails_clearly_and_writes_nothing()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        File.WriteAllText(_temp.Combine("ca", "root.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("cannot load the CA", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.Combine("node", "tallinn.crt")));
    }

    [Fact]
    public async Task Issue_with_a_root_key_that_is_not_the_roots_is_refused()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("other"));
        File.Copy(_temp.Combine("other", "root.key"), _temp.Combine("ca", "root.key"), overwrite: true);

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.Combine("node", "tallinn.crt")));
    }

    [Fact]
    public async Task Issue_refuses_a_root_key_readable_by_other_users()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
            return;
        }

        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        File.SetUnixFileMode(_temp.Combine("ca", "root.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("chmod 600", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.Combine("node", "tallinn.crt")));
    }

    [Fact]
    public async Task Issue_rejects_an_unknown_kind_as_a_usage_error()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "root", "--name", "x", "--out", _temp.Combine("x"));

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains("root", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Tallinn")]
    [InlineData("a/b")]
    [InlineData("..")]
    public async Task Issue_rejects_an_invalid_workload_name(string name)
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", name, "--out", _temp.Combine("node"));

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains("--name", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Issue_refuses_to_overwrite_an_existing_certificate()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));
        var before = File.ReadAllText(_temp.Combine("node", "tallinn.key"));

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("already exists", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_temp.Combine("node", "tallinn.key")));
    }

    [Fact]
    public async Task Fingerprint_prints_the_spki_pin_of_a_certificate()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "fi.cybercoop", "--out", _temp.Path);
        using var root = PemFiles.LoadCertificate(_temp.Combine("root.crt"));

        var result = await CliRun.RunAsync("certs", "fingerprint", _temp.Combine("root.crt"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(SpkiPin.Compute(root), result.Output.Trim());
        Assert.StartsWith("sha256:", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fingerprint_of_a_missing_file_says_so()
    {
        var result = await CliRun.RunAsync("certs", "fingerprint", _temp.Combine("absent.crt"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("does not exist", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fingerprint_of_a_file_that_is_not_a_certificate_says_so()
    {
        var path = _temp.Combine("garbage.crt");
        File.WriteAllText(path, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");

        var result = await CliRun.RunAsync("certs", "fingerprint", path);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("not a PEM certificate", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renew_keeps_identity_and_key_but_issues_a_new_serial()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));
        using var old = PemFiles.LoadCertificate(_temp.Combine("node", "tallinn.crt"));
        var oldKey = File.ReadAllText(_temp.Combine("node", "tallinn.key"));

        var result = await CliRun.RunAsync("certs", "renew", "--ca-dir", _temp.Combine("ca"), "--cert", _temp.Combine("node", "tallinn.crt"));

        Assert.Equal(0, result.ExitCode);
        using var renewed = PemFiles.LoadCertificate(_temp.Combine("node", "tallinn.crt"));
        Assert.NotEqual(old.SerialNumber, renewed.SerialNumber);
        Assert.Equal("spiffe://ee.cybercoop/gateway/tallinn", IdOf(renewed, _temp.Combine("ca", "root.crt")));
        Assert.Equal(SpkiPin.Compute(old), SpkiPin.Compute(renewed));
        Assert.Equal(oldKey, File.ReadAllText(_temp.Combine("node", "tallinn.key")));
        Assert.True(File.Exists(_temp.Combine("node", "tallinn.crt.bak")));
    }

    [Fact]
    public async Task Renew_with_new_key_rotates_the_key_and_keeps_the_old_one_as_backup()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "agent", "--name", "grid", "--out", _temp.Combine("a"));
        using var old = PemFiles.LoadCertificate(_temp.Combine("a", "grid.crt"));

        var result = await CliRun.RunAsync("certs", "renew", "--ca-dir", _temp.Combine("ca"), "--cert", _temp.Combine("a", "grid.crt"), "--new-key");

        Assert.Equal(0, result.ExitCode);
        using var renewed = PemFiles.LoadCertificateWithKey(_temp.Combine("a", "grid.crt"), _temp.Combine("a", "grid.key"));
        Assert.NotEqual(SpkiPin.Compute(old), SpkiPin.Compute(renewed));
        Assert.True(renewed.HasPrivateKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(_temp.Combine("a", "grid.key")));
        Assert.True(File.Exists(_temp.Combine("a", "grid.key.bak")));
    }

    [Fact]
    public async Task Renew_refuses_a_certificate_of_another_trust_domain()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ee"));
        await CliRun.RunAsync("certs", "init-domain", "--domain", "fi.cybercoop", "--out", _temp.Combine("fi"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ee"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));
        var before = File.ReadAllText(_temp.Combine("node", "tallinn.crt"));

        var result = await CliRun.RunAsync("certs", "renew", "--ca-dir", _temp.Combine("fi"), "--cert", _temp.Combine("node", "tallinn.crt"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("ee.cybercoop", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_temp.Combine("node", "tallinn.crt")));
    }

    [Fact]
    public async Task Renew_refuses_a_key_that_is_not_the_certificates()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "agent", "--name", "one", "--out", _temp.Combine("a"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "agent", "--name", "two", "--out", _temp.Combine("a"));

        var result = await CliRun.RunAsync("certs", "renew", "--ca-dir", _temp.Combine("ca"), "--cert", _temp.Combine("a", "one.crt"), "--key", _temp.Combine("a", "two.key"));

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("is not the key", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_adds_the_serial_to_the_config_and_keeps_a_backup()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var config = layout.Nodes[0].ConfigPath;

        var result = await CliRun.RunAsync("certs", "revoke", "--config", config, "--serial", "3f:2a:9c:01");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("3F2A9C01", GatewayConfigFile.Load(config).Config.Node.RevokedSerials);
        Assert.True(File.Exists(config + ".bak"));
        Assert.Contains("next start", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_rejects_a_serial_that_is_not_hex_and_leaves_the_config_alone()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var config = layout.Nodes[0].ConfigPath;
        var before = File.ReadAllText(config);

        var result = await CliRun.RunAsync("certs", "revoke", "--config", config, "--serial", "xyz");

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Equal(before, File.ReadAllText(config));
        Assert.False(File.Exists(config + ".bak"));
    }

    [Fact]
    public async Task Revoke_refuses_to_edit_an_invalid_config()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var config = layout.Nodes[0].ConfigPath;
        var broken = (File.ReadAllText(config)).Replace("\"replayWindowSeconds\": 600", "\"replayWindowSeconds\": 1", StringComparison.Ordinal);
        File.WriteAllText(config, broken);

        var result = await CliRun.RunAsync("certs", "revoke", "--config", config, "--serial", "01");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("node.replayWindowSeconds", result.Error, StringComparison.Ordinal);
        Assert.Equal(broken, File.ReadAllText(config));
        Assert.False(File.Exists(config + ".bak"));
    }

    [Fact]
    public async Task Concurrent_revocations_are_all_kept()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var config = layout.Nodes[0].ConfigPath;
        var serials = Enumerable.Range(1, 8).Select(i => $"{i:X2}AA").ToList();

        var results = await Task.WhenAll(serials.Select(s => Task.Run(() => CliRun.RunAsync("certs", "revoke", "--config", config, "--serial", s))));

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        Assert.Equal(serials.Order(), GatewayConfigFile.Load(config).Config.Node.RevokedSerials.Order());
        Assert.False(File.Exists(config + ".lock"));
    }
}
