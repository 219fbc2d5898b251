using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto.Tests.Certificates;

public sealed class ChainValidatorTests
{
    [Fact]
    public void Gateway_certificate_issued_by_own_domain_root_is_accepted_with_its_spiffe_id()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        var id = SpiffeId.Gateway("ee.cybercoop", "tallinn");
        using var leaf = ca.Issue(id);
        var validator = new ChainValidator([TrustAnchor.FromRoot(ca.Certificate)]);

        var server = validator.Validate(leaf, null, CertificatePurpose.Server);
        var client = validator.Validate(leaf, null, CertificatePurpose.Client);

        Assert.True(server.IsValid, server.Reason);
        Assert.True(client.IsValid, client.Reason);
        Assert.Equal(id, server.Id);
    }

    [Fact]
    public void Certificate_from_another_domains_root_claiming_this_domain_is_rejected()
    {
        using var ee = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var fi = CertificateAuthority.CreateRoot("fi.cybercoop");
        using var forged = ForgeLeaf(fi, "spiffe://ee.cybercoop/gateway/tallinn");
        var validator = new ChainValidator([TrustAnchor.FromRoot(ee.Certificate), TrustAnchor.FromRoot(fi.Certificate)]);

        var result = validator.Validate(forged, null, CertificatePurpose.Client);

        Assert.False(result.IsValid);
        Assert.Equal(ChainRejection.WrongDomainRoot, result.Rejection);
    }

    internal static X509Certificate2 ForgeLeaf(CertificateAuthority issuer, string uri)
    {
        // A CA that signs an identity of another domain: build it with the platform directly.
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=forged", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"), new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(uri));
        request.CertificateExtensions.Add(san.Build());
        var tempCaPath = Path.GetTempFileName();
        var tempKeyPath = Path.GetTempFileName();
        try
        {
            issuer.Save(tempCaPath, tempKeyPath);
            using var caWithKey = X509Certificate2.CreateFromPemFile(tempCaPath, tempKeyPath);
            var now = DateTimeOffset.UtcNow;
            using var cert = request.Create(caWithKey, now.AddMinutes(-5), now.AddDays(1), [0x41, 2, 3, 4, 5, 6, 7, 8]);
            return cert.CopyWithPrivateKey(key);
        }
        finally
        {
            File.Delete(tempCaPath);
            File.Delete(tempKeyPath);
        }
    }
}
