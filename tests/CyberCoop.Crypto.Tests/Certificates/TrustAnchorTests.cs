namespace CyberCoop.Crypto.Tests;

public sealed class TrustAnchorTests
{
    [Fact]
    public void Anchor_from_root_takes_domain_and_pin_from_the_certificate()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");

        var anchor = TrustAnchor.FromRoot(ca.Certificate);

        Assert.Equal("ee.cybercoop", anchor.TrustDomain);
        Assert.Equal(ca.Pin, anchor.Pin);
        Assert.Equal(ca.Certificate.RawData, anchor.Root.RawData);
    }

    [Fact]
    public void Anchor_accepts_a_human_spelled_pin_and_stores_it_canonical()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");

        var anchor = new TrustAnchor("ee.cybercoop", ca.Certificate, ca.Pin["sha256:".Length..].ToUpperInvariant());

        Assert.Equal(ca.Pin, anchor.Pin);
    }

    [Fact]
    public void Wrong_pin_is_refused()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var other = CertificateAuthority.CreateRoot("ee.cybercoop");

        var ex = Assert.Throws<ArgumentException>(() => new TrustAnchor("ee.cybercoop", ca.Certificate, other.Pin));
        Assert.Contains("does not match", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Root_naming_another_domain_is_refused()
    {
        using var fi = CertificateAuthority.CreateRoot("fi.cybercoop");

        var ex = Assert.Throws<ArgumentException>(() => new TrustAnchor("ee.cybercoop", fi.Certificate, fi.Pin));
        Assert.Contains("fi.cybercoop", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Workload_certificate_is_refused_as_root()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var leaf = ca.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));

        Assert.Throws<ArgumentException>(() => new TrustAnchor("ee.cybercoop", leaf, SpkiPin.Compute(leaf)));
    }

    [Fact]
    public void Intermediate_is_refused_as_root()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var intermediate = ca.CreateIntermediate("i1");

        var ex = Assert.Throws<ArgumentException>(() => TrustAnchor.FromRoot(intermediate.Certificate));
        Assert.Contains("self-issued", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("EE.cybercoop")]
    [InlineData("ee.cybercoop:1")]
    public void Invalid_domain_is_refused(string domain)
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");

        Assert.Throws<ArgumentException>(() => new TrustAnchor(domain, ca.Certificate, ca.Pin));
    }
}
