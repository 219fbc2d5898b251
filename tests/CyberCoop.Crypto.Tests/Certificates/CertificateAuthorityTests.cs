using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Crypto.Tests;

public sealed class CertificateAuthorityTests
{
    [Fact]
    public void Root_is_a_self_signed_p256_ca_bound_to_its_trust_domain()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop", time);
        var cert = ca.Certificate;

        Assert.Equal("ee.cybercoop", ca.TrustDomain);
        Assert.True(ca.IsRoot);
        Assert.False(cert.HasPrivateKey);
        Assert.Contains("CN=ee.cybercoop root", cert.Subject, StringComparison.Ordinal);
        Assert.Equal(cert.Subject, cert.Issuer);
        var bc = cert.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(bc.CertificateAuthority);
        Assert.True(bc.Critical);
        var ku = cert.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, ku.KeyUsages);
        Assert.Equal(["spiffe://ee.cybercoop"], CertificateInspector.UriSans(cert));
        Assert.Equal(256, cert.GetECDsaPublicKey()!.KeySize);
        Assert.Equal(time.GetUtcNow().AddDays(3652).UtcDateTime, cert.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.Equal(SpkiPin.Compute(cert), ca.Pin);
    }

    [Fact]
    public void Gateway_certificate_has_one_spiffe_uri_loopback_names_and_both_ekus()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop", time);

        using var leaf = ca.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"), time: time);

        Assert.True(leaf.HasPrivateKey);
        Assert.Equal(["spiffe://ee.cybercoop/gateway/tallinn"], CertificateInspector.UriSans(leaf));
        Assert.False(CertificateInspector.IsCertificateAuthority(leaf));
        Assert.True(leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single().Critical);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, CertificateInspector.KeyUsage(leaf));
        Assert.Equal(new HashSet<string> { ForgedCertificates.ServerAuth, ForgedCertificates.ClientAuth }, CertificateInspector.ExtendedKeyUsages(leaf));
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback], san.EnumerateIPAddresses());
        Assert.Equal(16, leaf.GetSerialNumber().Length);
        Assert.Equal(time.GetUtcNow().AddMinutes(-5).UtcDateTime, leaf.NotBefore.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.Equal(time.GetUtcNow().AddDays(30).UtcDateTime, leaf.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
    }

    [Theory]
    [InlineData(WorkloadKind.Agent)]
    [InlineData(WorkloadKind.Operator)]
    public void Agent_and_operator_certificates_are_client_only_without_loopback_names(WorkloadKind kind)
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");

        using var leaf = ca.Issue(SpiffeId.Create("ee.cybercoop", kind, "w1"));

        Assert.Equal(new HashSet<string> { ForgedCertificates.ClientAuth }, CertificateInspector.ExtendedKeyUsages(leaf));
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Empty(san.EnumerateDnsNames());
        Assert.Single(CertificateInspector.UriSans(leaf));
    }

    [Fact]
    public void Serial_numbers_are_random_per_certificate()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        var id = SpiffeId.Agent("ee.cybercoop", "a");

        using var a = ca.Issue(id);
        using var b = ca.Issue(id);

        Assert.NotEqual(a.SerialNumber, b.SerialNumber);
    }

    [Fact]
    public void Issue_uses_the_supplied_subject_key()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        using var leaf = ca.Issue(SpiffeId.Agent("ee.cybercoop", "a"), subjectKey: key);

        Assert.Equal(key.ExportSubjectPublicKeyInfo(), leaf.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Issue_refuses_an_identity_of_another_trust_domain()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");

        var ex = Assert.Throws<ArgumentException>(() => ca.Issue(SpiffeId.Gateway("fi.cybercoop", "helsinki")));
        Assert.Contains("fi.cybercoop", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_refuses_an_unvalidated_malformed_id()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");

        Assert.Throws<ArgumentException>(() => ca.Issue(new SpiffeId("ee.cybercoop", WorkloadKind.Gateway, "a/b")));
    }

    [Fact]
    public void Leaf_lifetime_is_capped_at_the_ca_expiry()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop", lifetime: TimeSpan.FromDays(2));

        using var leaf = ca.Issue(SpiffeId.Agent("ee.cybercoop", "a"), TimeSpan.FromDays(30));

        Assert.True(leaf.NotAfter <= ca.Certificate.NotAfter);
    }

    [Theory]
    [InlineData("EE.cybercoop")]
    [InlineData("ee.cybercoop:443")]
    [InlineData("")]
    public void Root_for_an_invalid_trust_domain_is_refused(string domain)
    {
        Assert.Throws<ArgumentException>(() => CertificateAuthority.CreateRoot(domain));
    }

    [Fact]
    public void Save_and_load_round_trip_with_key_file_0600()
    {
        using var dir = new TempDirectory();
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        ca.Save(dir.File("root.pem"), dir.File("root.key"));

        using var loaded = CertificateAuthority.Load(dir.File("root.pem"), dir.File("root.key"));
        using var leaf = loaded.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(dir.File("root.key")));
        Assert.Equal("ee.cybercoop", loaded.TrustDomain);
        Assert.Equal(ca.Pin, loaded.Pin);
        Assert.True(new ChainValidator([TrustAnchor.FromRoot(ca.Certificate)]).Validate(leaf, null, CertificatePurpose.Server).IsValid);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void Intermediate_saves_its_chain_and_loads_back()
    {
        using var dir = new TempDirectory();
        using var root = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var intermediate = root.CreateIntermediate("issuing-1");
        intermediate.Save(dir.File("int.pem"), dir.File("int.key"));

        using var loaded = CertificateAuthority.Load(dir.File("int.pem"), dir.File("int.key"));
        using var leaf = loaded.Issue(SpiffeId.Agent("ee.cybercoop", "s1"));

        Assert.False(loaded.IsRoot);
        Assert.Equal(root.Certificate.RawData, loaded.RootCertificate.RawData);
        Assert.True(new ChainValidator([TrustAnchor.FromRoot(root.Certificate)]).Validate(leaf, loaded.ChainFor(), CertificatePurpose.Client).IsValid);
    }

    [Fact]
    public void Load_names_the_missing_file()
    {
        using var dir = new TempDirectory();
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        ca.Save(dir.File("root.pem"), dir.File("root.key"));

        var missingCert = Assert.Throws<CryptoFileException>(() => CertificateAuthority.Load(dir.File("nope.pem"), dir.File("root.key")));
        var missingKey = Assert.Throws<CryptoFileException>(() => CertificateAuthority.Load(dir.File("root.pem"), dir.File("nope.key")));

        Assert.Equal(dir.File("nope.pem"), missingCert.Path);
        Assert.Contains("not found", missingCert.Message, StringComparison.Ordinal);
        Assert.Equal(dir.File("nope.key"), missingKey.Path);
    }

    [Fact]
    public void Load_refuses_a_key_that_does_not_match_the_certificate()
    {
        using var dir = new TempDirectory();
        using var a = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var b = CertificateAuthority.CreateRoot("ee.cybercoop");
        a.Save(dir.File("a.pem"), dir.File("a.key"));
        b.Save(dir.File("b.pem"), dir.File("b.key"));

        var ex = Assert.Throws<CryptoFileException>(() => CertificateAuthority.Load(dir.File("a.pem"), dir.File("b.key")));

        Assert.Equal(dir.File("b.key"), ex.Path);
        Assert.Contains("does not match", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_refuses_a_workload_certificate_as_ca()
    {
        using var dir = new TempDirectory();
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var leaf = ca.Issue(SpiffeId.Gateway("ee.cybercoop", "tallinn"));
        PemFiles.WriteCertificate(dir.File("leaf.pem"), leaf);
        PemFiles.WritePrivateKey(dir.File("leaf.key"), leaf);

        var ex = Assert.Throws<CryptoFileException>(() => CertificateAuthority.Load(dir.File("leaf.pem"), dir.File("leaf.key")));

        Assert.Contains("not a CA", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_data_binds_the_context()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        var context = "cybercoop/v1/trust-bundle"u8;
        var signature = ca.SignData(context, "bundle"u8);

        Assert.True(CertificateAuthority.VerifyData(ca.Certificate, context, "bundle"u8, signature));
        Assert.False(CertificateAuthority.VerifyData(ca.Certificate, "cybercoop/v1/key-announcement"u8, "bundle"u8, signature));
        Assert.False(CertificateAuthority.VerifyData(ca.Certificate, context, "bundlE"u8, signature));
        using var ecdsa = ca.Certificate.GetECDsaPublicKey()!;
        byte[] framed = [.. context, 0, .. "bundle"u8];
        Assert.True(ecdsa.VerifyData(framed, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Disposed_ca_refuses_to_issue()
    {
        var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        ca.Dispose();

        Assert.Throws<ObjectDisposedException>(() => ca.Issue(SpiffeId.Agent("ee.cybercoop", "a")));
    }
}
