using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Delivery;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Trust;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Agent.Tests.Delivery;

/// <summary>
/// The agent's trust in its own domain's roots: a trust bundle is accepted only when a root it already trusts signed it
/// (TUF-style), with a higher sequence, for its own domain; the accepted bundle survives a restart.
/// Real roots and bundles made with the operator CLI's code; no gateway needed.
/// </summary>
public sealed class AgentTrustTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly DevFederationLayout _layout;
    private readonly DevNode _node;
    private readonly AgentSettings _settings;

    public AgentTrustTests()
    {
        _layout = DevFederation.Create(Path.Combine(_dir.Path, "fed"), new DevFederationOptions { BasePort = 0 });
        _node = _layout.Nodes[0];
        _settings = AgentConfigLoader.Load(_node.Agents[0].ConfigPath);
    }

    public void Dispose() => _dir.Dispose();

    private AgentTrust Load() => AgentTrust.Load(_settings, TimeProvider.System, NullLogger.Instance);

    private CertificateAuthority OwnRoot() => CertificateAuthority.Load(Path.Combine(_node.Directory, "root.crt"), Path.Combine(_node.Directory, "root.key"));

    private static SignedTrustBundle Bundle(string domain, ulong sequence, IEnumerable<CertificateAuthority> listed, IEnumerable<CertificateAuthority> signers, TimeSpan? lifetime = null) =>
        TrustBundleSigner.Sign(
            TrustBundleSigner.Create(domain, sequence, listed.Select(a => a.Certificate), [], DateTimeOffset.UtcNow.AddMinutes(-1), lifetime ?? TimeSpan.FromDays(30)),
            signers);

    [Fact]
    public void Bundle_signed_by_an_unknown_root_of_the_same_domain_is_refused_and_nothing_is_kept()
    {
        var trust = Load();
        using var rogue = CertificateAuthority.CreateRoot(_settings.TrustDomain);

        var refused = trust.Offer(Bundle(_settings.TrustDomain, 5, [rogue], [rogue]), "test");

        Assert.NotNull(refused);
        Assert.Contains("not signed by a root trusted", refused, StringComparison.Ordinal);
        Assert.Equal(0UL, trust.HeldSequence);
        Assert.Equal([_settings.RootPin], trust.RootPins);
        Assert.False(File.Exists(trust.HeldPath));
    }

    [Fact]
    public void Bundle_introducing_a_new_root_without_that_roots_own_signature_is_refused()
    {
        var trust = Load();
        using var own = OwnRoot();
        using var fresh = CertificateAuthority.CreateRoot(_settings.TrustDomain);

        var refused = trust.Offer(Bundle(_settings.TrustDomain, 2, [own, fresh], [own]), "test");

        Assert.NotNull(refused);
        Assert.Contains("without that root's own signature", refused, StringComparison.Ordinal);
        Assert.Equal([_settings.RootPin], trust.RootPins);
    }

    [Fact]
    public void Bundle_of_another_trust_domain_is_refused_even_when_signed_by_the_pinned_root()
    {
        var trust = Load();
        using var own = OwnRoot();
        using var other = CertificateAuthority.Load(Path.Combine(_layout.Nodes[1].Directory, "root.crt"), Path.Combine(_layout.Nodes[1].Directory, "root.key"));

        var refused = trust.Offer(Bundle(_layout.Nodes[1].TrustDomain, 9, [other], [other, own]), "test");

        Assert.NotNull(refused);
        Assert.Equal(0UL, trust.HeldSequence);
    }

    [Fact]
    public void Expired_bundle_is_refused()
    {
        var trust = Load();
        using var own = OwnRoot();
        var expired = TrustBundleSigner.Sign(
            TrustBundleSigner.Create(_settings.TrustDomain, 2, [own.Certificate], [], DateTimeOffset.UtcNow.AddDays(-10), TimeSpan.FromDays(1)), [own]);

        var refused = trust.Offer(expired, "test");

        Assert.NotNull(refused);
        Assert.Contains("expired", refused, StringComparison.Ordinal);
    }

    [Fact]
    public void Older_or_equal_sequence_with_other_content_is_refused_as_a_rollback()
    {
        var trust = Load();
        using var own = OwnRoot();
        Assert.Null(trust.Offer(Bundle(_settings.TrustDomain, 3, [own], [own]), "test"));

        var older = trust.Offer(Bundle(_settings.TrustDomain, 2, [own], [own]), "test");
        var same = trust.Offer(Bundle(_settings.TrustDomain, 3, [own], [own], TimeSpan.FromDays(3)), "test");

        Assert.Contains("rollback", older, StringComparison.Ordinal);
        Assert.Contains("rollback", same, StringComparison.Ordinal);
        Assert.Equal(3UL, trust.HeldSequence);
    }

    [Fact]
    public void Rotation_signed_by_the_pinned_root_is_followed_through_the_drop_and_survives_a_restart()
    {
        using var old = OwnRoot();
        using var fresh = CertificateAuthority.CreateRoot(_settings.TrustDomain);
        using var gatewayKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var newGateway = fresh.Issue(new SpiffeId(_settings.TrustDomain, WorkloadKind.Gateway, "tallinn"), TimeSpan.FromDays(1), gatewayKey);
        var trust = Load();
        Assert.False(trust.Validator.Validate(newGateway, null, CertificatePurpose.Server).IsValid);

        // Step 1 of the guide: old and new root, signed by both. Step 4: the old root dropped, signed by the new one alone.
        Assert.Null(trust.Offer(Bundle(_settings.TrustDomain, 2, [old, fresh], [old, fresh]), "test"));
        Assert.True(trust.Validator.Validate(newGateway, null, CertificatePurpose.Server).IsValid);
        Assert.Null(trust.Offer(Bundle(_settings.TrustDomain, 3, [fresh], [fresh]), "test"));

        var restarted = Load();

        Assert.Equal(3UL, restarted.HeldSequence);
        Assert.Equal([fresh.Pin], restarted.RootPins);
        Assert.True(restarted.Validator.Validate(newGateway, null, CertificatePurpose.Server).IsValid);
        using var oldGateway = PemFiles.LoadCertificate(_node.Certificate);
        Assert.False(restarted.Validator.Validate(oldGateway, null, CertificatePurpose.Server).IsValid);
    }

    [Fact]
    public void A_held_bundle_is_ignored_after_the_operator_pins_an_unrelated_root_by_hand()
    {
        using var own = OwnRoot();
        Assert.Null(Load().Offer(Bundle(_settings.TrustDomain, 2, [own], [own]), "test"));
        using var other = CertificateAuthority.CreateRoot(_settings.TrustDomain);
        var otherRoot = Path.Combine(_dir.Path, "other-root.crt");
        PemFiles.WriteCertificate(otherRoot, other.Certificate);

        var repinned = AgentTrust.Load(_settings with { RootPath = otherRoot, RootPin = other.Pin }, TimeProvider.System, NullLogger.Instance);

        Assert.Equal(0UL, repinned.HeldSequence);
        Assert.Equal([other.Pin], repinned.RootPins);
    }

    [Fact]
    public void A_corrupt_held_bundle_file_falls_back_to_the_pinned_root()
    {
        using var own = OwnRoot();
        var trust = Load();
        Assert.Null(trust.Offer(Bundle(_settings.TrustDomain, 2, [own], [own]), "test"));
        File.WriteAllText(trust.HeldPath, "{ not json");

        var restarted = Load();

        Assert.Equal(0UL, restarted.HeldSequence);
        Assert.Equal([_settings.RootPin], restarted.RootPins);
    }
}
