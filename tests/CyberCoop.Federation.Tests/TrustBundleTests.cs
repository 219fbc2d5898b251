using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Root-signed trust bundles between real gateways: only a root the receiver already trusts for the peer's domain can
/// sign a bundle, new roots come in only signed by the current one, the newest sequence wins, domains never merge,
/// and the accepted bundle survives a restart.
/// </summary>
public sealed class TrustBundleTests : IAsyncLifetime
{
    private const string Ee = "ee.cybercoop";
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi", "lv");
        _f.PeerBoth("ee", "fi");
        _f.PeerBoth("fi", "lv");
        foreach (var code in new[] { "ee", "fi", "lv" })
        {
            _f[code].Config = _f[code].Config with { Node = _f[code].Config.Node with { TrustBundleRefreshSeconds = 1 } };
        }

        await _f.StartAsync();
        await WaitUntilAsync(() => Task.FromResult(HeldSequence("fi", Ee) == 1), "fi accepted ee's first bundle");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private PeerKeyDirectory Directory(string code) => _f[code].Node!.Services.GetRequiredService<PeerKeyDirectory>();

    private ulong HeldSequence(string at, string domain) =>
        _f[at].Node!.Runtime.Trust.PeerBundles.TryGetValue(domain, out var held) ? held.Bundle.Sequence : 0;

    private string[] TrustedPins(string at, string domain) =>
        [.. _f[at].Node!.Runtime.Trust.RootsOf(domain).Select(SpkiPin.Compute)];

    private static SignedTrustBundle Bundle(string domain, ulong sequence, IEnumerable<CertificateAuthority> roots, IEnumerable<CertificateAuthority> signers,
        TimeSpan? lifetime = null, DateTimeOffset? issued = null, params string[] revoked) =>
        TrustBundleSigner.Sign(
            TrustBundleSigner.Create(domain, sequence, roots.Select(r => r.Certificate), revoked, issued ?? DateTimeOffset.UtcNow.AddMinutes(-1), lifetime ?? TimeSpan.FromDays(30)),
            signers);

    [Fact]
    public async Task Bundle_signed_by_a_gateway_key_instead_of_the_root_is_rejected()
    {
        using var gateway = _f.LoadCertificate("ee", "gateway");
        var bytes = TrustBundleSigner.Create(Ee, 7, [_f["ee"].Ca.Certificate], [], DateTimeOffset.UtcNow, TimeSpan.FromDays(30)).ToByteArray();
        var signature = ByteString.CopyFrom(IdentitySignatures.Sign(SignaturePurpose.TrustBundle, bytes, gateway));
        var namedAsGateway = new SignedTrustBundle { Bundle = ByteString.CopyFrom(bytes) };
        namedAsGateway.Signatures.Add(new RootSignature { RootSpkiSha256 = ByteString.CopyFrom(SpkiPin.ComputeBytes(gateway)), Signature = signature });
        var namedAsRoot = new SignedTrustBundle { Bundle = ByteString.CopyFrom(bytes) };
        namedAsRoot.Signatures.Add(new RootSignature { RootSpkiSha256 = ByteString.CopyFrom(SpkiPin.ComputeBytes(_f["ee"].Ca.Certificate)), Signature = signature });

        var first = await Directory("fi").AcceptAsync(Ee, namedAsGateway, CancellationToken.None);
        var second = await Directory("fi").AcceptAsync(Ee, namedAsRoot, CancellationToken.None);

        Assert.Contains("not signed by a root trusted for ee.cybercoop", first, StringComparison.Ordinal);
        Assert.Contains("does not verify", second, StringComparison.Ordinal);
        Assert.Equal(1UL, HeldSequence("fi", Ee));
        await AssertAuditedAsync("fi", "rejected");
    }

    [Fact]
    public async Task Bundle_signed_by_another_domains_root_is_rejected()
    {
        var forged = Bundle(Ee, 9, [_f["ee"].Ca], [_f["lv"].Ca]);

        var error = await Directory("fi").AcceptAsync(Ee, forged, CancellationToken.None);

        Assert.Contains("not signed by a root trusted for ee.cybercoop", error, StringComparison.Ordinal);
        Assert.Equal(1UL, HeldSequence("fi", Ee));
    }

    [Fact]
    public async Task Bundle_of_another_domain_served_by_a_peer_is_rejected_and_never_merged()
    {
        // A genuine, newer lv bundle (signed by lv's root, revoking a serial) offered as if ee served it.
        using var eeGateway = _f.LoadCertificate("ee", "gateway");
        var lvBundle = Bundle("lv.cybercoop", 50, [_f["lv"].Ca], [_f["lv"].Ca], revoked: eeGateway.SerialNumber);
        var eeRootsBefore = TrustedPins("fi", Ee);

        var error = await Directory("fi").AcceptAsync(Ee, lvBundle, CancellationToken.None);

        Assert.NotNull(error);
        Assert.Equal(1UL, HeldSequence("fi", Ee));
        Assert.Equal(eeRootsBefore, TrustedPins("fi", Ee));
        Assert.True(HeldSequence("fi", "lv.cybercoop") < 50);
        Assert.True(_f["fi"].Node!.Runtime.Trust.Validator.Validate(eeGateway, null, CertificatePurpose.Client).IsValid);
    }

    [Fact]
    public async Task A_domain_can_revoke_only_its_own_certificates()
    {
        // lv legitimately signs a bundle revoking the serial of ee's gateway certificate: it must not affect ee.
        using var eeGateway = _f.LoadCertificate("ee", "gateway");
        _f["lv"].Revoked.Add(eeGateway.SerialNumber);
        _f["lv"].WriteBundle();
        Assert.True(_f["lv"].Node!.Runtime.Reload().Applied);

        await WaitUntilAsync(() => Task.FromResult(HeldSequence("fi", "lv.cybercoop") == 2), "fi accepted lv's new bundle");

        Assert.True(_f["fi"].Node!.Runtime.Trust.Validator.Validate(eeGateway, null, CertificatePurpose.Client).IsValid);
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "still-trusted.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "still-trusted.example") is not null, "ee still delivers to fi");
    }

    [Fact]
    public async Task Older_or_equal_sequence_is_ignored_and_the_newest_kept()
    {
        _f["ee"].WriteBundle(); // sequence 2
        Assert.True(_f["ee"].Node!.Runtime.Reload().Applied);
        await WaitUntilAsync(() => Task.FromResult(HeldSequence("fi", Ee) == 2), "fi accepted sequence 2");
        var held = _f["fi"].Node!.Runtime.Trust.PeerBundles[Ee].Bundle.Signed.Bundle;

        var older = await Directory("fi").AcceptAsync(Ee, Bundle(Ee, 1, [_f["ee"].Ca], [_f["ee"].Ca], revoked: "0ABC"), CancellationToken.None);
        var equal = await Directory("fi").AcceptAsync(Ee, Bundle(Ee, 2, [_f["ee"].Ca], [_f["ee"].Ca], revoked: "0DEF"), CancellationToken.None);

        Assert.Null(older);
        Assert.Null(equal);
        Assert.Equal(2UL, HeldSequence("fi", Ee));
        Assert.Equal(held, _f["fi"].Node!.Runtime.Trust.PeerBundles[Ee].Bundle.Signed.Bundle);
        Assert.DoesNotContain("0ABC", (IReadOnlySet<string>)_f["fi"].Node!.Runtime.Trust.RevokedSerials);
        Assert.DoesNotContain("0DEF", (IReadOnlySet<string>)_f["fi"].Node!.Runtime.Trust.RevokedSerials);
        await AssertAuditedAsync("fi", "ignored");
    }

    [Fact]
    public async Task Expired_bundle_is_rejected()
    {
        var expired = Bundle(Ee, 20, [_f["ee"].Ca], [_f["ee"].Ca], lifetime: TimeSpan.FromHours(1), issued: DateTimeOffset.UtcNow.AddHours(-2));

        var error = await Directory("fi").AcceptAsync(Ee, expired, CancellationToken.None);

        Assert.Contains("expired", error, StringComparison.Ordinal);
        Assert.Equal(1UL, HeldSequence("fi", Ee));
    }

    [Fact]
    public async Task A_peer_serving_a_bundle_that_has_expired_is_disconnected_at_the_next_refresh()
    {
        var metrics = _f["fi"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(metrics.Snapshot().ConnectedSince is not null), "fi is connected to ee");

        // ee installs a bundle that expires a few seconds from now and is not re-signed in time.
        _f["ee"].WriteBundle(lifetime: TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(4));
        Assert.True(_f["ee"].Node!.Runtime.Reload().Applied);
        await WaitUntilAsync(() => Task.FromResult(HeldSequence("fi", Ee) == 2), "fi accepted the short-lived bundle");

        await WaitUntilAsync(() => Task.FromResult(metrics.Snapshot().LastError.Contains("expired", StringComparison.Ordinal) && metrics.Snapshot().ConnectedSince is null),
            "fi drops the stream to ee once ee's bundle has expired", TimeSpan.FromSeconds(30));
        await AssertAuditedAsync("fi", "rejected");
    }

    [Fact]
    public async Task Tampered_bundle_bytes_are_rejected()
    {
        var genuine = Bundle(Ee, 30, [_f["ee"].Ca], [_f["ee"].Ca]);
        var bytes = genuine.Bundle.ToByteArray();
        bytes[^3] ^= 0x01;
        var tampered = genuine.Clone();
        tampered.Bundle = ByteString.CopyFrom(bytes);

        var error = await Directory("fi").AcceptAsync(Ee, tampered, CancellationToken.None);

        Assert.Contains("does not verify", error, StringComparison.Ordinal);
        Assert.Equal(1UL, HeldSequence("fi", Ee));
    }

    [Fact]
    public async Task New_root_signed_only_by_itself_is_rejected()
    {
        using var rogue = CertificateAuthority.CreateRoot(Ee);

        var alongside = await Directory("fi").AcceptAsync(Ee, Bundle(Ee, 40, [_f["ee"].Ca, rogue], [rogue]), CancellationToken.None);
        var instead = await Directory("fi").AcceptAsync(Ee, Bundle(Ee, 41, [rogue], [rogue]), CancellationToken.None);
        var unproven = await Directory("fi").AcceptAsync(Ee, Bundle(Ee, 42, [_f["ee"].Ca, rogue], [_f["ee"].Ca]), CancellationToken.None);

        Assert.Contains("not signed by a root trusted", alongside, StringComparison.Ordinal);
        Assert.Contains("not signed by a root trusted", instead, StringComparison.Ordinal);
        Assert.Contains("without that root's own signature", unproven, StringComparison.Ordinal);
        Assert.Equal([_f["ee"].Ca.Pin], TrustedPins("fi", Ee));
    }

    [Fact]
    public async Task Root_rotation_keeps_the_peers_federated_and_survives_a_receiver_restart()
    {
        var ee = _f["ee"];
        using var newRoot = CertificateAuthority.CreateRoot(Ee);
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "before-rotation.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "before-rotation.example") is not null, "fi has the indicator");

        // 1. ee publishes [old, new] signed by both roots; fi accepts the new root because the old one signed it.
        ee.WriteBundle(roots: [ee.Ca, newRoot]);
        Assert.True(ee.Node!.Runtime.Reload().Applied);
        await WaitUntilAsync(() => Task.FromResult(HeldSequence("fi", Ee) == 2), "fi accepted the rotation bundle");
        Assert.Equal([ee.Ca.Pin, newRoot.Pin], TrustedPins("fi", Ee));

        // 2. ee's gateway and agent move to certificates of the new root; ee's own root becomes the new one.
        using (var gateway = newRoot.Issue(SpiffeId.Gateway(Ee, ee.GatewayName)))
        {
            PemFiles.WriteCertificate(Path.Combine(ee.Directory, "gateway.crt"), gateway);
            PemFiles.WritePrivateKey(Path.Combine(ee.Directory, "gateway.key"), gateway);
        }

        using (var agent = newRoot.Issue(SpiffeId.Agent(Ee, "sensor-1")))
        {
            PemFiles.WriteCertificate(Path.Combine(ee.Directory, "agent.crt"), agent);
            PemFiles.WritePrivateKey(Path.Combine(ee.Directory, "agent.key"), agent);
        }

        PemFiles.WriteCertificate(ee.RootPath, newRoot.Certificate);
        ee.ClientTrustedRoots.Add(newRoot);
        Assert.True(ee.Node.Runtime.Reload().Applied);

        // 3. ee drops the old root: a bundle listing only the new root, signed by the new root alone.
        ee.WriteBundle(roots: [newRoot]);
        Assert.True(ee.Node.Runtime.Reload().Applied);
        await WaitUntilAsync(() => Task.FromResult(HeldSequence("fi", Ee) == 3), "fi accepted the bundle without the old root");
        Assert.Equal([newRoot.Pin], TrustedPins("fi", Ee));

        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "after-rotation.example"));
        await _f.IngestAsync("fi", Sighting(IndicatorType.Domain, "fi-after-rotation.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "after-rotation.example") is not null, "fi receives from ee after the rotation");
        await WaitUntilAsync(async () => await _f.GetAsync("ee", IndicatorType.Domain, "fi-after-rotation.example") is not null, "ee receives from fi after the rotation");

        // 4. fi restarts: it still pins ee's old root in its config, but the accepted bundle comes back from SQLite.
        await _f.StopAsync("fi");
        await _f.StartAsync("fi");
        Assert.Equal([newRoot.Pin], TrustedPins("fi", Ee));
        Assert.Equal(3UL, HeldSequence("fi", Ee));
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "after-restart.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "after-restart.example") is not null, "fi receives from ee after its restart");
    }

    [Fact]
    public async Task Gateway_refuses_an_own_bundle_that_is_older_than_the_one_it_serves()
    {
        _f["ee"].WriteBundle(); // sequence 2
        Assert.True(_f["ee"].Node!.Runtime.Reload().Applied);
        _f["ee"].WriteBundle(sequence: 1);

        var (applied, messages) = _f["ee"].Node!.Runtime.Reload();

        Assert.False(applied);
        Assert.Contains(messages, m => m.StartsWith("node.trustBundle: sequence 1 is not newer", StringComparison.Ordinal));
        Assert.Equal(2UL, _f["ee"].Node!.Runtime.Trust.OwnBundle.Sequence);
    }

    [Fact]
    public async Task Gateway_will_not_start_with_a_bundle_not_signed_by_its_root_or_of_another_domain_or_expired()
    {
        await _f.StopAsync("lv");
        var lv = _f["lv"];
        using var rogue = CertificateAuthority.CreateRoot("lv.cybercoop");
        var cases = new (SignedTrustBundle Bundle, string Expected)[]
        {
            (Bundle("lv.cybercoop", 5, [rogue], [rogue]), "not signed by a root trusted for lv.cybercoop"),
            (Bundle(Ee, 5, [_f["ee"].Ca], [_f["ee"].Ca]), "not signed by a root trusted for lv.cybercoop"),
            (Bundle("lv.cybercoop", 5, [lv.Ca], [lv.Ca], lifetime: TimeSpan.FromHours(1), issued: DateTimeOffset.UtcNow.AddHours(-2)), "expired"),
        };

        foreach (var (bundle, expected) in cases)
        {
            TrustBundleFile.Write(lv.BundlePath, bundle);
            var error = await Assert.ThrowsAsync<GatewayConfigException>(() => _f.StartAsync("lv"));
            Assert.Contains(error.Errors, e => e.StartsWith("node.trustBundle:", StringComparison.Ordinal) && e.Contains(expected, StringComparison.Ordinal));
        }

        File.Delete(lv.BundlePath);
        var missing = await Assert.ThrowsAsync<GatewayConfigException>(() => _f.StartAsync("lv"));
        Assert.Contains(missing.Errors, e => e.StartsWith("node.trustBundle: file", StringComparison.Ordinal));
    }

    private async Task AssertAuditedAsync(string code, string decision)
    {
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in _f[code].Node!.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry.Subject == "trust-bundle" && entry.Decision == decision)
                {
                    return true;
                }
            }

            return false;
        }, $"{code} audits a trust bundle '{decision}'");
    }
}
