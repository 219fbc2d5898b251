using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Crypto.Tests;

public sealed class ChainValidatorTests : IDisposable
{
    private readonly CertificateAuthority _ee = CertificateAuthority.CreateRoot("ee.cybercoop");
    private readonly CertificateAuthority _fi = CertificateAuthority.CreateRoot("fi.cybercoop");

    public void Dispose()
    {
        _ee.Dispose();
        _fi.Dispose();
    }

    private ChainValidator Validator(TimeProvider? time = null, IEnumerable<string>? revoked = null) =>
        new([TrustAnchor.FromRoot(_ee.Certificate), TrustAnchor.FromRoot(_fi.Certificate)], revoked, time);

    [Fact]
    public void Gateway_certificate_of_own_domain_is_accepted_as_server_and_client()
    {
        var id = SpiffeId.Gateway("ee.cybercoop", "tallinn");
        using var leaf = _ee.Issue(id);

        var server = Validator().Validate(leaf, null, CertificatePurpose.Server);
        var client = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.True(server.IsValid, server.Reason);
        Assert.True(client.IsValid, client.Reason);
        Assert.Equal(id, server.Id);
        Assert.Equal(ChainRejection.None, server.Rejection);
    }

    [Fact]
    public void Peer_domain_gateway_is_accepted_against_its_own_pinned_root()
    {
        var id = SpiffeId.Gateway("fi.cybercoop", "helsinki");
        using var leaf = _fi.Issue(id);

        var result = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(id, result.Id);
    }

    [Fact]
    public void Leaf_issued_by_an_intermediate_is_accepted_with_the_intermediate_presented()
    {
        using var intermediate = _ee.CreateIntermediate("issuing-1");
        var id = SpiffeId.Agent("ee.cybercoop", "sensor-1");
        using var leaf = intermediate.Issue(id);

        var withChain = Validator().Validate(leaf, intermediate.ChainFor(), CertificatePurpose.Client);
        var withoutChain = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.True(withChain.IsValid, withChain.Reason);
        Assert.False(withoutChain.IsValid);
        Assert.Equal(ChainRejection.UntrustedRoot, withoutChain.Rejection);
    }

    [Fact]
    public void Missing_certificate_is_rejected()
    {
        var result = Validator().Validate(null, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.NoCertificate, result.Rejection);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Certificate_from_another_domains_root_claiming_this_domain_is_rejected()
    {
        using var forged = ForgedCertificates.Leaf(_fi, ["spiffe://ee.cybercoop/gateway/tallinn"]);

        var result = Validator().Validate(forged, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.WrongDomainRoot, result.Rejection);
        Assert.Contains("fi.cybercoop", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_from_an_unpinned_root_of_the_same_domain_is_rejected()
    {
        using var impostor = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var leaf = impostor.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));

        var result = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.UntrustedRoot, result.Rejection);
    }

    [Fact]
    public void Certificate_of_an_unconfigured_domain_is_rejected()
    {
        using var se = CertificateAuthority.CreateRoot("se.cybercoop");
        using var leaf = se.Issue(SpiffeId.Gateway("se.cybercoop", "stockholm"));

        var result = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.UnknownTrustDomain, result.Rejection);
        Assert.Contains("se.cybercoop", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Expired_certificate_is_rejected()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var leaf = _ee.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"), TimeSpan.FromDays(1), time: time);
        time.Advance(TimeSpan.FromDays(2));

        var result = Validator(time).Validate(leaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.Expired, result.Rejection);
        Assert.Contains("expired", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_yet_valid_certificate_is_rejected()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var future = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(3));
        using var leaf = _ee.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"), time: future);

        var result = Validator(time).Validate(leaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.NotYetValid, result.Rejection);
    }

    [Fact]
    public void Five_minutes_of_clock_skew_are_tolerated()
    {
        var issuerClock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(4));
        using var leaf = _ee.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"), time: issuerClock);

        var result = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.True(result.IsValid, result.Reason);
    }

    [Fact]
    public void Revoked_certificate_is_rejected_in_any_serial_spelling()
    {
        using var leaf = _ee.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));
        var serial = leaf.SerialNumber;
        var colonLower = string.Join(':', Enumerable.Range(0, serial.Length / 2).Select(i => serial.Substring(i * 2, 2))).ToLowerInvariant();

        var upper = Validator(revoked: [serial]).Validate(leaf, null, CertificatePurpose.Client);
        var spelled = Validator(revoked: [colonLower]).Validate(leaf, null, CertificatePurpose.Client);
        var viaWith = Validator().WithRevokedSerials([serial]).Validate(leaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.Revoked, upper.Rejection);
        Assert.Equal(ChainRejection.Revoked, spelled.Rejection);
        Assert.Equal(ChainRejection.Revoked, viaWith.Rejection);
    }

    [Fact]
    public void Certificate_under_a_revoked_intermediate_is_rejected()
    {
        using var intermediate = _ee.CreateIntermediate("issuing-1");
        using var leaf = intermediate.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-1"));

        var result = Validator(revoked: [intermediate.Certificate.SerialNumber]).Validate(leaf, intermediate.ChainFor(), CertificatePurpose.Client);

        Assert.Equal(ChainRejection.Revoked, result.Rejection);
        Assert.Contains("intermediate", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_with_two_uri_sans_is_rejected()
    {
        using var leaf = ForgedCertificates.Leaf(_ee, ["spiffe://ee.cybercoop/gateway/a", "spiffe://ee.cybercoop/gateway/b"]);

        Assert.Equal(ChainRejection.MultipleUriSans, Validator().Validate(leaf, null, CertificatePurpose.Client).Rejection);
    }

    [Fact]
    public void Certificate_without_uri_san_is_rejected()
    {
        using var leaf = ForgedCertificates.Leaf(_ee, []);

        Assert.Equal(ChainRejection.NoUriSan, Validator().Validate(leaf, null, CertificatePurpose.Client).Rejection);
    }

    [Fact]
    public void Certificate_with_non_spiffe_uri_is_rejected()
    {
        using var leaf = ForgedCertificates.Leaf(_ee, ["https://ee.cybercoop/gateway/tallinn"]);

        Assert.Equal(ChainRejection.NotSpiffe, Validator().Validate(leaf, null, CertificatePurpose.Client).Rejection);
    }

    [Theory]
    [InlineData("spiffe://EE.cybercoop/gateway/tallinn", "upper-case")]
    [InlineData("spiffe://ee.cybercoop/gateway/tallinn?x=1", "query")]
    [InlineData("spiffe://ee.cybercoop/gateway/tallinn#f", "fragment")]
    [InlineData("spiffe://ee.cybercoop:443/gateway/tallinn", "port")]
    [InlineData("spiffe://ee.cybercoop/printer/tallinn", "workload kind")]
    public void Certificate_with_malformed_spiffe_id_is_rejected_naming_the_problem(string uri, string reason)
    {
        using var leaf = ForgedCertificates.Leaf(_ee, [uri]);

        var result = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.MalformedSpiffeId, result.Rejection);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_with_a_malformed_extended_key_usage_is_rejected_not_thrown()
    {
        // Found by fuzzing (fuzz/fuzz pem, docs/fuzzing.md): an extendedKeyUsage whose sequence holds a NULL instead of
        // OIDs made ChainValidator throw CryptographicException out of the TLS callback instead of rejecting with a reason.
        using var leaf = ForgedCertificates.Leaf(_ee, ["spiffe://ee.cybercoop/gateway/tallinn"], rawEkuExtension: [0x30, 0x02, 0x05, 0x00]);

        var result = Validator().Validate(leaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.WrongExtendedKeyUsage, result.Rejection);
        Assert.Contains("extendedKeyUsage extension is malformed", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Ca_certificate_used_as_leaf_is_rejected()
    {
        using var intermediate = _ee.CreateIntermediate("issuing-1");
        using var caLeaf = ForgedCertificates.Leaf(_ee, ["spiffe://ee.cybercoop/gateway/tallinn"], isCa: true, keyUsage: X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign);

        var forged = Validator().Validate(caLeaf, null, CertificatePurpose.Client);

        Assert.Equal(ChainRejection.CertificateAuthorityAsLeaf, forged.Rejection);
    }

    [Fact]
    public void Intermediate_ca_presented_as_leaf_is_rejected()
    {
        using var intermediate = _ee.CreateIntermediate("issuing-1");

        var result = Validator().Validate(intermediate.Certificate, null, CertificatePurpose.Client);

        Assert.False(result.IsValid);
        Assert.Equal(ChainRejection.MalformedSpiffeId, result.Rejection); // spiffe://<domain> has no workload path
    }

    [Fact]
    public void Leaf_without_digital_signature_key_usage_is_rejected()
    {
        using var leaf = ForgedCertificates.Leaf(_ee, ["spiffe://ee.cybercoop/gateway/tallinn"], keyUsage: X509KeyUsageFlags.KeyEncipherment);

        Assert.Equal(ChainRejection.WrongKeyUsage, Validator().Validate(leaf, null, CertificatePurpose.Client).Rejection);
    }

    [Fact]
    public void Leaf_allowed_to_sign_certificates_is_rejected()
    {
        using var leaf = ForgedCertificates.Leaf(_ee, ["spiffe://ee.cybercoop/gateway/tallinn"], keyUsage: X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign);

        Assert.Equal(ChainRejection.WrongKeyUsage, Validator().Validate(leaf, null, CertificatePurpose.Client).Rejection);
    }

    [Fact]
    public void Agent_certificate_cannot_be_a_tls_server()
    {
        using var agent = _ee.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-1"));

        var result = Validator().Validate(agent, null, CertificatePurpose.Server);

        Assert.Equal(ChainRejection.WrongExtendedKeyUsage, result.Rejection);
        Assert.Contains("serverAuth", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_only_certificate_cannot_be_a_tls_client()
    {
        using var leaf = ForgedCertificates.Leaf(_ee, ["spiffe://ee.cybercoop/gateway/tallinn"], ekus: [ForgedCertificates.ServerAuth]);

        Assert.Equal(ChainRejection.WrongExtendedKeyUsage, Validator().Validate(leaf, null, CertificatePurpose.Client).Rejection);
    }

    [Fact]
    public void Operator_with_server_eku_is_still_not_a_server()
    {
        using var leaf = ForgedCertificates.Leaf(_ee, ["spiffe://ee.cybercoop/operator/alice"]);

        Assert.Equal(ChainRejection.WrongWorkloadKind, Validator().Validate(leaf, null, CertificatePurpose.Server).Rejection);
    }

    [Fact]
    public void Leaf_with_broken_signature_is_rejected()
    {
        using var leaf = _ee.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));
        var der = leaf.RawData;
        der[^5] ^= 0x01; // inside the signature value
        using var broken = X509CertificateLoader.LoadCertificate(der);

        var result = Validator().Validate(broken, null, CertificatePurpose.Client);

        Assert.False(result.IsValid);
        Assert.Contains(result.Rejection, new[] { ChainRejection.ChainBuildFailed, ChainRejection.UntrustedRoot });
    }

    [Fact]
    public void Two_anchors_of_one_domain_during_a_root_rotation_each_validate_their_own_leaves_only()
    {
        using var next = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var stranger = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var fromOld = _ee.Issue(SpiffeId.Agent("ee.cybercoop", "old"));
        using var fromNew = next.Issue(SpiffeId.Agent("ee.cybercoop", "new"));
        using var fromStranger = stranger.Issue(SpiffeId.Agent("ee.cybercoop", "stranger"));
        var validator = new ChainValidator([TrustAnchor.FromRoot(_ee.Certificate), TrustAnchor.FromRoot(next.Certificate)]);

        Assert.True(validator.Validate(fromOld, null, CertificatePurpose.Client).IsValid);
        Assert.True(validator.Validate(fromNew, null, CertificatePurpose.Client).IsValid);
        Assert.Equal(ChainRejection.UntrustedRoot, validator.Validate(fromStranger, null, CertificatePurpose.Client).Rejection);
        Assert.Equal(2, validator.Anchors["ee.cybercoop"].Length);
    }

    [Fact]
    public void Domain_scoped_revocations_do_not_revoke_certificates_of_another_domain()
    {
        using var eeLeaf = _ee.Issue(SpiffeId.Agent("ee.cybercoop", "sensor"));
        using var fiLeaf = _fi.Issue(SpiffeId.Agent("fi.cybercoop", "sensor"));
        var revoked = new Dictionary<string, IReadOnlyCollection<string>>
        {
            // fi "revokes" ee's serial: only fi's own certificates can be revoked by fi.
            ["fi.cybercoop"] = [eeLeaf.SerialNumber, fiLeaf.SerialNumber],
        };
        var validator = ChainValidator.WithDomainRevocations([TrustAnchor.FromRoot(_ee.Certificate), TrustAnchor.FromRoot(_fi.Certificate)], revoked);

        Assert.True(validator.Validate(eeLeaf, null, CertificatePurpose.Client).IsValid);
        Assert.Equal(ChainRejection.Revoked, validator.Validate(fiLeaf, null, CertificatePurpose.Client).Rejection);
    }
}
