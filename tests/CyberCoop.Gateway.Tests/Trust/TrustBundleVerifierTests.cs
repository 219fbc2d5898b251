using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Trust;

/// <summary>Every malformed or hostile trust bundle is refused with a reason naming the problem; a good one is accepted.</summary>
public sealed class TrustBundleVerifierTests : IDisposable
{
    private const string Ee = "ee.cybercoop";
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly CertificateAuthority _root = CertificateAuthority.CreateRoot(Ee);
    private readonly CertificateAuthority _fi = CertificateAuthority.CreateRoot("fi.cybercoop");

    public void Dispose()
    {
        _root.Dispose();
        _fi.Dispose();
    }

    private TrustBundle Good() => TrustBundleSigner.Create(Ee, 3, [_root.Certificate], ["0A1B"], Now.AddMinutes(-1), TimeSpan.FromDays(30));

    private string? Verify(SignedTrustBundle signed)
    {
        var result = TrustBundleVerifier.Verify(signed, Ee, [_root.Certificate], Now, out var error);
        Assert.Equal(result is null, error is not null);
        return error;
    }

    [Fact]
    public void A_well_formed_bundle_signed_by_the_trusted_root_is_accepted_and_an_extra_unknown_signature_is_ignored()
    {
        using var stranger = CertificateAuthority.CreateRoot("lv.cybercoop");
        var signed = TrustBundleSigner.Sign(Good(), [_root, stranger]);

        var verified = TrustBundleVerifier.Verify(signed, Ee, [_root.Certificate], Now, out var error);

        Assert.Null(error);
        Assert.NotNull(verified);
        Assert.Equal(3UL, verified.Sequence);
        Assert.Equal([_root.Pin], verified.RootPins);
        Assert.Equal([_root.Pin], verified.SignerPins);
        Assert.Equal(["0A1B"], verified.RevokedSerials);
    }

    [Fact]
    public void Bundle_whose_expiry_is_not_a_valid_timestamp_is_refused_not_thrown()
    {
        var bundle = Good();
        bundle.ExpiresAt = new Timestamp { Seconds = bundle.ExpiresAt.Seconds, Nanos = -1 };
        var signed = TrustBundleSigner.Sign(bundle, [_root]);

        Assert.Contains("not a valid timestamp", Verify(signed), StringComparison.Ordinal);
        Assert.Null(TrustBundleVerifier.VerifySelfSigned(signed, Now, out var selfError));
        Assert.Contains("not a valid timestamp", selfError, StringComparison.Ordinal);
    }

    [Fact]
    public void Bundle_listing_a_root_without_an_ecdsa_key_is_refused_not_thrown()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            "CN=rsa root", rsa, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        using var rsaRoot = request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
        var bundle = TrustBundleSigner.Create(Ee, 3, [_root.Certificate, rsaRoot], [], Now.AddMinutes(-1), TimeSpan.FromDays(30));
        var signed = TrustBundleSigner.Sign(bundle, [_root]);
        signed.Signatures.Add(new RootSignature { RootSpkiSha256 = ByteString.CopyFrom(SpkiPin.ComputeBytes(rsaRoot)), Signature = ByteString.CopyFrom([0x30, 0x00]) });

        Assert.Contains("unusable root", Verify(signed), StringComparison.Ordinal);
        Assert.Null(TrustBundleVerifier.VerifySelfSigned(signed, Now, out var selfError));
        Assert.Contains("unusable root", selfError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2.5.29.17", new byte[] { 0x30, 0x03, 0x86, 0x05, 0x41 })] // subjectAltName whose URI runs past its end
    [InlineData("2.5.29.19", new byte[] { 0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00, 0x05 })] // basicConstraints with trailing bytes
    public void Bundle_listing_a_root_with_a_malformed_extension_is_refused_not_thrown(string oid, byte[] value)
    {
        // Found by fuzzing (fuzz/fuzz trust-bundle, docs/fuzzing.md): the root's extensions are decoded only when read,
        // and a malformed one threw CryptographicException out of Verify instead of an error.
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=odd root", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        if (oid != "2.5.29.19")
        {
            request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        }

        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509Extension(oid, value, true));
        using var oddRoot = request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
        var bundle = TrustBundleSigner.Create(Ee, 3, [_root.Certificate, oddRoot], [], Now.AddMinutes(-1), TimeSpan.FromDays(30));
        var signed = TrustBundleSigner.Sign(bundle, [_root]);

        Assert.Contains("unusable root", Verify(signed), StringComparison.Ordinal);
        Assert.Null(TrustBundleVerifier.VerifySelfSigned(signed, Now, out var selfError));
        Assert.Contains("unusable root", selfError, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_bundle_bytes_are_refused_even_when_signed()
    {
        var signed = new SignedTrustBundle { Bundle = ByteString.CopyFrom([0x0A, 0xFF, 0xFF, 0xFF]) };
        signed.Signatures.Add(new RootSignature
        {
            RootSpkiSha256 = ByteString.CopyFrom(SpkiPin.ComputeBytes(_root.Certificate)),
            Signature = ByteString.CopyFrom(_root.SignData(SignatureContexts.BytesFor(SignaturePurpose.TrustBundle), signed.Bundle.Span)),
        });

        Assert.StartsWith("trust bundle is malformed", Verify(signed), StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_bundle_and_missing_signatures_are_refused()
    {
        var unsigned = new SignedTrustBundle { Bundle = Good().ToByteString() };

        Assert.Equal("trust bundle is empty", Verify(new SignedTrustBundle()));
        Assert.Equal("trust bundle carries no root signature", Verify(unsigned));
    }

    [Fact]
    public void A_signature_that_names_its_root_with_the_wrong_length_is_refused()
    {
        var signed = TrustBundleSigner.Sign(Good(), [_root]);
        signed.Signatures[0].RootSpkiSha256 = ByteString.CopyFrom(new byte[31]);

        Assert.Contains("32 bytes", Verify(signed), StringComparison.Ordinal);
    }

    [Fact]
    public void More_signatures_than_the_limit_are_refused()
    {
        var signed = TrustBundleSigner.Sign(Good(), [_root]);
        for (var i = 0; i < TrustBundleVerifier.MaxSignatures; i++)
        {
            signed.Signatures.Add(signed.Signatures[0]);
        }

        Assert.Contains("the limit is", Verify(signed), StringComparison.Ordinal);
    }

    [Fact]
    public void A_signature_by_a_key_of_another_purpose_over_the_same_bytes_does_not_verify()
    {
        // Same root key, but over the key-announcement context: domain separation must refuse it.
        var bundle = Good().ToByteArray();
        var signed = new SignedTrustBundle { Bundle = ByteString.CopyFrom(bundle) };
        signed.Signatures.Add(new RootSignature
        {
            RootSpkiSha256 = ByteString.CopyFrom(SpkiPin.ComputeBytes(_root.Certificate)),
            Signature = ByteString.CopyFrom(_root.SignData(SignatureContexts.BytesFor(SignaturePurpose.KeyAnnouncement), bundle)),
        });

        Assert.Contains("does not verify", Verify(signed), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadContents() => new()
    {
        { "sequence-zero", "sequence must be 1 or more" },
        { "no-times", "lacks issued_at or expires_at" },
        { "expires-before-issued", "expires_at is not after issued_at" },
        { "refresh-too-long", "refresh_hint_seconds 90000 exceeds 86400" },
        { "no-roots", "lists 0 roots" },
        { "duplicate-root", "twice" },
        { "lower-case-serial", "is not upper-case hex" },
        { "garbage-root", "not a DER certificate" },
        { "bad-domain", "trust_domain" },
    };

    [Theory]
    [MemberData(nameof(BadContents))]
    public void Malformed_contents_are_refused_with_the_reason(string defect, string expected)
    {
        var bundle = Good();
        switch (defect)
        {
            case "sequence-zero": bundle.Sequence = 0; break;
            case "no-times": bundle.IssuedAt = null; break;
            case "expires-before-issued": bundle.ExpiresAt = Timestamp.FromDateTimeOffset(Now.AddDays(-2)); break;
            case "refresh-too-long": bundle.RefreshHintSeconds = 90_000; break;
            case "no-roots": bundle.RootCertificates.Clear(); break;
            case "duplicate-root": bundle.RootCertificates.Add(bundle.RootCertificates[0]); break;
            case "lower-case-serial": bundle.RevokedSerials.Add("0abc"); break;
            case "garbage-root": bundle.RootCertificates.Add(ByteString.CopyFromUtf8("not a certificate")); break;
            case "bad-domain": bundle.TrustDomain = "EE.CyberCoop"; break;
        }

        var error = TrustBundleVerifier.Verify(TrustBundleSigner.Sign(bundle, [_root]), bundle.TrustDomain, [_root.Certificate], Now, out var reason);

        Assert.Null(error);
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_root_of_another_domain_or_a_workload_certificate_cannot_be_listed_as_a_root()
    {
        using var leaf = _root.Issue(SpiffeId.Gateway(Ee, "tallinn"));
        var foreign = Good();
        foreign.RootCertificates.Add(ByteString.CopyFrom(_fi.Certificate.RawData));
        var workload = Good();
        workload.RootCertificates.Add(ByteString.CopyFrom(leaf.RawData));

        Assert.Contains("unusable root", Verify(TrustBundleSigner.Sign(foreign, [_root, _fi])), StringComparison.Ordinal);
        Assert.Contains("unusable root", Verify(TrustBundleSigner.Sign(workload, [_root])), StringComparison.Ordinal);
    }

    [Fact]
    public void The_expiry_is_checked_unless_the_caller_only_inspects_the_bundle()
    {
        var expired = TrustBundleSigner.Sign(TrustBundleSigner.Create(Ee, 3, [_root.Certificate], [], Now.AddDays(-31), TimeSpan.FromDays(30)), [_root]);

        Assert.Contains("expired at", Verify(expired), StringComparison.Ordinal);
        Assert.NotNull(TrustBundleVerifier.VerifySelfSigned(expired, Now, out _));
    }

    [Fact]
    public void Self_signed_inspection_still_requires_a_signature_by_a_listed_root()
    {
        using var other = CertificateAuthority.CreateRoot(Ee);
        var signedByUnlisted = TrustBundleSigner.Sign(Good(), [other]);

        Assert.Null(TrustBundleVerifier.VerifySelfSigned(signedByUnlisted, Now, out var error));
        Assert.Contains("not signed by a root trusted", error, StringComparison.Ordinal);
    }
}
