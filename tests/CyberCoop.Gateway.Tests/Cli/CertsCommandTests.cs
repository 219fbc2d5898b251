using Xunit;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;

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
    public async Task Renew_after_rotate_root_issues_the_certificate_from_the_new_root()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));
        File.Copy(_temp.Combine("ca", "root.crt"), _temp.Combine("old-root.crt"));
        Assert.Equal(0, (await CliRun.RunAsync("certs", "rotate-root", "--ca-dir", _temp.Combine("ca"))).ExitCode);

        var result = await CliRun.RunAsync("certs", "renew", "--ca-dir", _temp.Combine("ca"), "--cert", _temp.Combine("node", "tallinn.crt"), "--new-key");

        Assert.True(result.ExitCode == 0, result.Error);
        using var renewed = PemFiles.LoadCertificateWithKey(_temp.Combine("node", "tallinn.crt"), _temp.Combine("node", "tallinn.key"));
        Assert.Equal("spiffe://ee.cybercoop/gateway/tallinn", IdOf(renewed, _temp.Combine("ca", "root.crt")));
        using var oldRoot = PemFiles.LoadCertificate(_temp.Combine("old-root.crt"));
        Assert.False(new ChainValidator([TrustAnchor.FromRoot(oldRoot)]).Validate(renewed, null, CertificatePurpose.Client).IsValid);
        Assert.Contains("retired root " + SpkiPin.Compute(oldRoot), result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Renew_after_rotate_root_still_refuses_a_certificate_of_a_foreign_root_of_the_same_domain()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("rogue"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("rogue"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));
        Assert.Equal(0, (await CliRun.RunAsync("certs", "rotate-root", "--ca-dir", _temp.Combine("ca"))).ExitCode);
        var before = File.ReadAllText(_temp.Combine("node", "tallinn.crt"));

        var result = await CliRun.RunAsync("certs", "renew", "--ca-dir", _temp.Combine("ca"), "--cert", _temp.Combine("node", "tallinn.crt"), "--new-key");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("nor by a retired one", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(_temp.Combine("node", "tallinn.crt")));
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

    private static VerifiedTrustBundle ReadBundle(string path) =>
        TrustBundleVerifier.VerifySelfSigned(TrustBundleFile.Read(path), DateTimeOffset.UtcNow, out var error, checkExpiry: true)
            ?? throw new Xunit.Sdk.XunitException("bundle does not verify: " + error);

    [Fact]
    public async Task Init_domain_writes_the_first_root_signed_trust_bundle()
    {
        var result = await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"), "--bundle-days", "10");

        Assert.Equal(0, result.ExitCode);
        var bundle = ReadBundle(_temp.Combine("ca", "trust-bundle.pb"));
        using var root = PemFiles.LoadCertificate(_temp.Combine("ca", "root.crt"));
        Assert.Equal("ee.cybercoop", bundle.TrustDomain);
        Assert.Equal(1UL, bundle.Sequence);
        Assert.Equal([SpkiPin.Compute(root)], bundle.RootPins);
        Assert.Equal([SpkiPin.Compute(root)], bundle.SignerPins);
        Assert.Empty(bundle.RevokedSerials);
        Assert.Equal(300U, bundle.Bundle.RefreshHintSeconds);
        Assert.InRange(bundle.ExpiresAt, DateTimeOffset.UtcNow.AddDays(9.9), DateTimeOffset.UtcNow.AddDays(10.1));
        Assert.Contains("trust-bundle.pb", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_adds_the_serial_to_the_bundle_re_signed_with_the_next_sequence_and_the_config_stays_valid()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var node = layout.Nodes[0];
        var before = File.ReadAllText(node.ConfigPath);

        var result = await CliRun.RunAsync("certs", "revoke", "--ca-dir", node.Directory, "--serial", "3f:2a:9c:01", "--config", node.ConfigPath);

        Assert.Equal(0, result.ExitCode);
        var bundle = ReadBundle(Path.Combine(node.Directory, "trust-bundle.pb"));
        Assert.Equal(2UL, bundle.Sequence);
        Assert.Equal(["3F2A9C01"], bundle.RevokedSerials);
        Assert.Equal([node.RootPin], bundle.SignerPins);
        Assert.Equal(before, File.ReadAllText(node.ConfigPath));
        Assert.Equal(2UL, OwnTrustBundle.Load(GatewayConfigFile.Load(node.ConfigPath), TimeProvider.System).Sequence);
        Assert.Contains("next start", result.Output, StringComparison.Ordinal);

        var again = await CliRun.RunAsync("certs", "revoke", "--ca-dir", node.Directory, "--serial", "3F2A9C01");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("already revoked", again.Output, StringComparison.Ordinal);
        Assert.Equal(2UL, ReadBundle(Path.Combine(node.Directory, "trust-bundle.pb")).Sequence);
    }

    [Theory]
    [InlineData("xyz")]
    [InlineData("")]
    [InlineData("12 34")]
    public async Task Revoke_rejects_a_malformed_serial_and_leaves_the_bundle_alone(string serial)
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        var before = File.ReadAllBytes(_temp.Combine("ca", "trust-bundle.pb"));

        var result = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ca"), "--serial", serial);

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains("--serial", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_temp.Combine("ca", "trust-bundle.pb")));
    }

    [Fact]
    public async Task Revoke_refuses_a_bundle_of_another_domain_or_of_another_root()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ee"));
        await CliRun.RunAsync("certs", "init-domain", "--domain", "fi.cybercoop", "--out", _temp.Combine("fi"));
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ee-other"));
        var before = File.ReadAllBytes(_temp.Combine("ee", "trust-bundle.pb"));

        var otherDomain = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("fi"), "--bundle", _temp.Combine("ee", "trust-bundle.pb"), "--serial", "01");
        var otherRoot = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ee-other"), "--bundle", _temp.Combine("ee", "trust-bundle.pb"), "--serial", "01");

        Assert.Equal(CliExitCodes.Failure, otherDomain.ExitCode);
        Assert.Contains("is of ee.cybercoop, but the CA", otherDomain.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, otherRoot.ExitCode);
        Assert.Contains("wrong root key for this bundle", otherRoot.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_temp.Combine("ee", "trust-bundle.pb")));
    }

    [Fact]
    public async Task Revoke_reports_a_missing_or_malformed_bundle_and_a_missing_root()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        File.WriteAllText(_temp.Combine("garbage.pb"), "this is not protobuf at all \u0000\u0001");

        var missing = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ca"), "--bundle", _temp.Combine("nope.pb"), "--serial", "01");
        var malformed = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ca"), "--bundle", _temp.Combine("garbage.pb"), "--serial", "01");
        var noRoot = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("empty"), "--serial", "01");

        Assert.Equal(CliExitCodes.Failure, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, malformed.ExitCode);
        Assert.Contains("garbage.pb", malformed.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, noRoot.ExitCode);
        Assert.Contains("root certificate", noRoot.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_with_a_tampered_bundle_is_refused()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        var path = _temp.Combine("ca", "trust-bundle.pb");
        var signed = TrustBundleFile.Read(path);
        var bytes = signed.Bundle.ToByteArray();
        bytes[^2] ^= 0x01;
        signed.Bundle = Google.Protobuf.ByteString.CopyFrom(bytes);
        TrustBundleFile.Write(path, signed);

        var result = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ca"), "--serial", "01");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("does not verify", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_revocations_are_all_kept()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        var serials = Enumerable.Range(1, 6).Select(i => $"{i:X2}AA").ToList();

        var results = await Task.WhenAll(serials.Select(s => Task.Run(() => CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ca"), "--serial", s))));

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        var bundle = ReadBundle(_temp.Combine("ca", "trust-bundle.pb"));
        Assert.Equal(serials.Order(), bundle.RevokedSerials.Order());
        Assert.Equal(1UL + (ulong)serials.Count, bundle.Sequence);
        Assert.False(File.Exists(_temp.Combine("ca", "trust-bundle.pb.lock")));
    }

    [Fact]
    public async Task Bundle_show_prints_the_bundle_as_text_and_json()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ca"), "--serial", "0ABC");
        using var root = PemFiles.LoadCertificate(_temp.Combine("ca", "root.crt"));

        var text = await CliRun.RunAsync("certs", "bundle", "show", _temp.Combine("ca", "trust-bundle.pb"));
        var json = await CliRun.RunAsync("certs", "bundle", "show", _temp.Combine("ca", "trust-bundle.pb"), "--json");

        Assert.Equal(0, text.ExitCode);
        Assert.Contains("sequence       2", text.Output, StringComparison.Ordinal);
        Assert.Contains(SpkiPin.Compute(root) + "  verifies", text.Output, StringComparison.Ordinal);
        Assert.Contains("0ABC", text.Output, StringComparison.Ordinal);
        Assert.Equal(0, json.ExitCode);
        using var document = System.Text.Json.JsonDocument.Parse(json.Output);
        Assert.Equal("ee.cybercoop", document.RootElement.GetProperty("trustDomain").GetString());
        Assert.Equal(2UL, document.RootElement.GetProperty("sequence").GetUInt64());
        Assert.Equal("0ABC", document.RootElement.GetProperty("revokedSerials")[0].GetString());
        Assert.True(document.RootElement.GetProperty("signatures")[0].GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task Bundle_show_refuses_a_missing_or_malformed_file()
    {
        File.WriteAllBytes(_temp.Combine("bad.pb"), [0x0A, 0xFF, 0xFF]);

        var missing = await CliRun.RunAsync("certs", "bundle", "show", _temp.Combine("none.pb"));
        var malformed = await CliRun.RunAsync("certs", "bundle", "show", _temp.Combine("bad.pb"));

        Assert.Equal(CliExitCodes.Failure, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, malformed.ExitCode);
        Assert.Contains("not a signed trust bundle", malformed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bundle_sign_extends_the_expiry_with_the_next_sequence()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"), "--bundle-days", "2");

        var result = await CliRun.RunAsync("certs", "bundle", "sign", "--ca-dir", _temp.Combine("ca"), "--bundle-days", "60", "--refresh-seconds", "120");

        Assert.Equal(0, result.ExitCode);
        var bundle = ReadBundle(_temp.Combine("ca", "trust-bundle.pb"));
        Assert.Equal(2UL, bundle.Sequence);
        Assert.Equal(120U, bundle.Bundle.RefreshHintSeconds);
        Assert.InRange(bundle.ExpiresAt, DateTimeOffset.UtcNow.AddDays(59.9), DateTimeOffset.UtcNow.AddDays(60.1));
    }

    [Theory]
    [InlineData("--bundle-days", "0")]
    [InlineData("--bundle-days", "400")]
    [InlineData("--refresh-seconds", "0")]
    [InlineData("--drop-root", "sha256:12")]
    public async Task Bundle_sign_rejects_bad_options_and_writes_nothing(string option, string value)
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        var before = File.ReadAllBytes(_temp.Combine("ca", "trust-bundle.pb"));

        var result = await CliRun.RunAsync("certs", "bundle", "sign", "--ca-dir", _temp.Combine("ca"), option, value);

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains(option, result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_temp.Combine("ca", "trust-bundle.pb")));
    }

    [Fact]
    public async Task Rotate_root_lists_old_and_new_signed_by_both_then_drop_root_leaves_the_new_one_signed_by_it()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        string oldPin;
        using (var old = PemFiles.LoadCertificate(_temp.Combine("ca", "root.crt")))
        {
            oldPin = SpkiPin.Compute(old);
        }

        var first = ReadBundle(_temp.Combine("ca", "trust-bundle.pb"));

        var rotate = await CliRun.RunAsync("certs", "rotate-root", "--ca-dir", _temp.Combine("ca"));

        Assert.Equal(0, rotate.ExitCode);
        string newPin;
        using (var fresh = PemFiles.LoadCertificate(_temp.Combine("ca", "root.crt")))
        {
            newPin = SpkiPin.Compute(fresh);
        }

        Assert.NotEqual(oldPin, newPin);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(_temp.Combine("ca", "root.key")));
        var retiredKey = Directory.GetFiles(_temp.Combine("ca", "retired"), "*.key").Single();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(retiredKey));
        var rotated = ReadBundle(_temp.Combine("ca", "trust-bundle.pb"));
        Assert.Equal(2UL, rotated.Sequence);
        Assert.Equal([oldPin, newPin], rotated.RootPins);
        Assert.Equal(new[] { oldPin, newPin }.Order(StringComparer.Ordinal), rotated.SignerPins.Order(StringComparer.Ordinal));
        // A receiver holding only the first bundle accepts the rotation (the old root signed it).
        Assert.NotNull(TrustBundleVerifier.Verify(rotated.Signed, "ee.cybercoop", first.Roots, DateTimeOffset.UtcNow, out var rotationError));
        Assert.Null(rotationError);
        Assert.Contains("--drop-root " + oldPin, rotate.Output, StringComparison.Ordinal);

        // While both are listed, other changes are signed by both roots.
        var revoke = await CliRun.RunAsync("certs", "revoke", "--ca-dir", _temp.Combine("ca"), "--serial", "0F");
        Assert.Equal(0, revoke.ExitCode);
        Assert.Equal(2, ReadBundle(_temp.Combine("ca", "trust-bundle.pb")).SignerPins.Count);

        var drop = await CliRun.RunAsync("certs", "bundle", "sign", "--ca-dir", _temp.Combine("ca"), "--drop-root", oldPin);

        Assert.Equal(0, drop.ExitCode);
        var dropped = ReadBundle(_temp.Combine("ca", "trust-bundle.pb"));
        Assert.Equal(4UL, dropped.Sequence);
        Assert.Equal([newPin], dropped.RootPins);
        Assert.Equal([newPin], dropped.SignerPins);
        Assert.Equal(["0F"], dropped.RevokedSerials);
        Assert.Single(dropped.Signed.Signatures);
        Assert.NotNull(TrustBundleVerifier.Verify(dropped.Signed, "ee.cybercoop", rotated.Roots, DateTimeOffset.UtcNow, out _));
        Assert.Null(TrustBundleVerifier.Verify(dropped.Signed, "ee.cybercoop", first.Roots, DateTimeOffset.UtcNow, out _));
    }

    [Fact]
    public async Task Drop_root_refuses_the_current_root_and_an_unlisted_pin()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("other"));
        using var current = PemFiles.LoadCertificate(_temp.Combine("ca", "root.crt"));
        using var other = PemFiles.LoadCertificate(_temp.Combine("other", "root.crt"));
        var before = File.ReadAllBytes(_temp.Combine("ca", "trust-bundle.pb"));

        var dropCurrent = await CliRun.RunAsync("certs", "bundle", "sign", "--ca-dir", _temp.Combine("ca"), "--drop-root", SpkiPin.Compute(current));
        var dropUnlisted = await CliRun.RunAsync("certs", "bundle", "sign", "--ca-dir", _temp.Combine("ca"), "--drop-root", SpkiPin.Compute(other));

        Assert.Equal(CliExitCodes.Failure, dropCurrent.ExitCode);
        Assert.Contains("current root", dropCurrent.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, dropUnlisted.ExitCode);
        Assert.Contains("is not listed", dropUnlisted.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_temp.Combine("ca", "trust-bundle.pb")));
    }

    [Fact]
    public async Task Rotate_root_with_config_installs_the_bundle_for_the_gateway_and_its_config_stays_valid()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var node = layout.Nodes[0];

        var result = await CliRun.RunAsync("certs", "rotate-root", "--ca-dir", node.Directory, "--config", node.ConfigPath);

        Assert.Equal(0, result.ExitCode);
        var own = OwnTrustBundle.Load(GatewayConfigFile.Load(node.ConfigPath), TimeProvider.System);
        Assert.Equal(2UL, own.Sequence);
        Assert.Equal(2, own.RootPins.Count);
        Assert.Contains(node.RootPin, own.RootPins);
    }

    [Fact]
    public async Task Bundle_install_for_a_gateway_of_another_domain_is_refused_before_anything_is_written()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var ee = layout.Nodes[0];
        var fi = layout.Nodes[1];
        var before = File.ReadAllBytes(Path.Combine(ee.Directory, "trust-bundle.pb"));

        var result = await CliRun.RunAsync("certs", "revoke", "--ca-dir", ee.Directory, "--serial", "01", "--config", fi.ConfigPath);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("refusing to install another domain's bundle", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(ee.Directory, "trust-bundle.pb")));
    }

    [Fact]
    public async Task Bundle_install_puts_a_newer_offline_bundle_in_place_and_refuses_an_older_or_foreign_one()
    {
        var layout = DevFederationFixture.Create(_temp.Combine("fed"));
        var ee = layout.Nodes[0];
        var fi = layout.Nodes[1];
        var installed = Path.Combine(ee.Directory, "trust-bundle.pb");
        File.Copy(installed, _temp.Combine("seq1.pb"));
        File.Copy(installed, _temp.Combine("offline.pb"));
        Assert.Equal(0, (await CliRun.RunAsync("certs", "revoke", "--ca-dir", ee.Directory, "--bundle", _temp.Combine("offline.pb"), "--serial", "0BAD")).ExitCode);

        var install = await CliRun.RunAsync("certs", "bundle", "install", _temp.Combine("offline.pb"), "--config", ee.ConfigPath);
        var older = await CliRun.RunAsync("certs", "bundle", "install", _temp.Combine("seq1.pb"), "--config", ee.ConfigPath);
        var foreign = await CliRun.RunAsync("certs", "bundle", "install", Path.Combine(fi.Directory, "trust-bundle.pb"), "--config", ee.ConfigPath);

        Assert.Equal(0, install.ExitCode);
        Assert.Contains("next start", install.Output, StringComparison.Ordinal);
        var own = OwnTrustBundle.Load(GatewayConfigFile.Load(ee.ConfigPath), TimeProvider.System);
        Assert.Equal(2UL, own.Sequence);
        Assert.Equal(["0BAD"], own.RevokedSerials);
        Assert.Equal(CliExitCodes.Failure, older.ExitCode);
        Assert.Contains("older sequence 1", older.Error, StringComparison.Ordinal);
        Assert.Equal(CliExitCodes.Failure, foreign.ExitCode);
        Assert.Contains("another domain's bundle", foreign.Error, StringComparison.Ordinal);
        Assert.Equal(2UL, ReadBundle(installed).Sequence);
    }

    [Fact]
    public async Task Issue_without_days_gives_the_documented_30_day_default_as_its_help_and_crypto_md_say()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));

        var issued = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));
        var help = await CliRun.RunAsync("certs", "issue", "--help");

        Assert.Equal(0, issued.ExitCode);
        using var certificate = PemFiles.LoadCertificate(_temp.Combine("node", "tallinn.crt"));
        Assert.InRange(certificate.NotAfter.ToUniversalTime(), DateTime.UtcNow.AddDays(29.9), DateTime.UtcNow.AddDays(30.1));
        Assert.Equal(TimeSpan.FromDays(30), CertificateAuthority.DefaultLeafLifetime);
        Assert.Matches(@"--days[^\[]*\[default: 30\]", help.Output);
        var crypto = File.ReadAllText(Path.Combine(CyberCoop.Testing.TestData.RepositoryRoot, "docs", "crypto.md"));
        Assert.Contains("Default lifetime 30 days", crypto, StringComparison.Ordinal);
        var guide = File.ReadAllText(Path.Combine(CyberCoop.Testing.TestData.RepositoryRoot, "docs", "operator-guide.md"));
        Assert.Contains("30 days by default", guide, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tallinn-gw_1.a", true)]
    [InlineData("Tallinn", false)]
    [InlineData("a b", false)]
    [InlineData(".", false)]
    public async Task Issue_accepts_exactly_the_names_its_help_and_crypto_md_describe(string name, bool accepted)
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));

        var result = await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "agent", "--name", name, "--out", _temp.Combine("agent"));
        var help = await CliRun.RunAsync("certs", "issue", "--help");

        Assert.Equal(accepted ? 0 : CliExitCodes.Usage, result.ExitCode);
        Assert.Equal(accepted, GatewayConfigValidator.IsValidName(name));
        // Every name the CLI issues is a valid SPIFFE workload name for every peer (the stricter subset).
        Assert.True(!accepted || SpiffeId.TryParse("spiffe://ee.cybercoop/agent/" + name, out _, out _));
        Assert.Contains("1-64 characters of a-z, 0-9, '-', '_', '.'", System.Text.RegularExpressions.Regex.Replace(help.Output, @"\s+", " "), StringComparison.Ordinal);
        var crypto = File.ReadAllText(Path.Combine(CyberCoop.Testing.TestData.RepositoryRoot, "docs", "crypto.md"));
        Assert.Contains("take 1–64 characters of `[a-z0-9-._]`, not `.` or `..`", System.Text.RegularExpressions.Regex.Replace(crypto, @"\s+", " "), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("revoke")]
    [InlineData("bundle")]
    [InlineData("rotate-root")]
    public async Task Trust_bundle_commands_explain_themselves_with_an_example(string command)
    {
        var result = await CliRun.RunAsync("certs", command, "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Example: certs", result.Output, StringComparison.Ordinal);
    }
}
