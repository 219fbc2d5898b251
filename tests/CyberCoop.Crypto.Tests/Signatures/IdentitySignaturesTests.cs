namespace CyberCoop.Crypto.Tests;

public sealed class IdentitySignaturesTests
{
    [Fact]
    public void Key_announcement_signed_with_tls_identity_verifies_with_its_certificate_only()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var gateway = ca.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));
        using var other = ca.Issue(SpiffeId.Gateway("ee.cybercoop", "tartu"));

        var signature = IdentitySignatures.Sign(SignaturePurpose.KeyAnnouncement, "announcement"u8, gateway);

        Assert.True(IdentitySignatures.Verify(SignaturePurpose.KeyAnnouncement, "announcement"u8, signature, gateway));
        Assert.False(IdentitySignatures.Verify(SignaturePurpose.KeyAnnouncement, "announcement"u8, signature, other));
        Assert.False(IdentitySignatures.Verify(SignaturePurpose.TrustBundle, "announcement"u8, signature, gateway));
        Assert.False(IdentitySignatures.Verify(SignaturePurpose.KeyAnnouncement, "announcemenT"u8, signature, gateway));
        Assert.False(IdentitySignatures.Verify(SignaturePurpose.KeyAnnouncement, "announcement"u8, [1, 2, 3], gateway));
    }

    [Fact]
    public void Certificate_without_private_key_cannot_sign()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");

        Assert.Throws<ArgumentException>(() => IdentitySignatures.Sign(SignaturePurpose.KeyAnnouncement, "m"u8, ca.Certificate));
    }
}
