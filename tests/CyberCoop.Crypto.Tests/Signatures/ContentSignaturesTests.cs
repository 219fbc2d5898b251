using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace CyberCoop.Crypto.Tests;

public sealed class ContentSignaturesTests : IDisposable
{
    // RFC 8032 §7.1 "TEST SHA(abc)" / §7.3 key.
    private const string RfcSeed = "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42";

    private readonly TempDirectory _dir = new();

    public static TheoryData<Suite> AllSuites => [Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65];

    public static TheoryData<Suite, SignaturePurpose> SuitesAndContentPurposes
    {
        get
        {
            var data = new TheoryData<Suite, SignaturePurpose>();
            foreach (var suite in AllSuites)
            {
                foreach (var purpose in new[] { SignaturePurpose.Bundle, SignaturePurpose.Receipt, SignaturePurpose.AuditCheckpoint })
                {
                    data.Add(suite, purpose);
                }
            }

            return data;
        }
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(SuitesAndContentPurposes))]
    public void Signature_verifies_for_its_purpose_and_message(Suite suite, SignaturePurpose purpose)
    {
        using var key = SigningKeyPair.Generate(suite);

        var signature = ContentSignatures.Sign(purpose, "bundle bytes"u8, key);

        Assert.Equal(ContentSignatures.SignatureLength(key.Algorithm), signature.Length);
        Assert.True(ContentSignatures.Verify(purpose, "bundle bytes"u8, signature, key.PublicKey));
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Empty_message_signs_and_verifies(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);

        var signature = ContentSignatures.Sign(SignaturePurpose.Receipt, [], key);

        Assert.True(ContentSignatures.Verify(SignaturePurpose.Receipt, [], signature, key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Receipt, [0], signature, key.PublicKey));
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Any_changed_byte_of_a_bundle_sized_message_fails(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);
        var message = RandomNumberGenerator.GetBytes(300 * 1024);
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, message, key);
        Assert.True(ContentSignatures.Verify(SignaturePurpose.Bundle, message, signature, key.PublicKey));

        foreach (var index in new[] { 0, 1, message.Length / 2, message.Length - 1 })
        {
            var tampered = (byte[])message.Clone();
            tampered[index] ^= 0x01;
            Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, tampered, signature, key.PublicKey), $"byte {index}");
        }

        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, message.AsSpan(0, message.Length - 1), signature, key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, [.. message, 0], signature, key.PublicKey));
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Signature_for_one_purpose_never_verifies_for_another(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, key);

        foreach (var other in Enum.GetValues<SignaturePurpose>().Where(p => p != SignaturePurpose.Bundle))
        {
            Assert.False(ContentSignatures.Verify(other, "m"u8, signature, key.PublicKey), other.ToString());
        }
    }

    [Theory]
    [InlineData(SignaturePurpose.KeyAnnouncement)]
    [InlineData(SignaturePurpose.TrustBundle)]
    public void Identity_purposes_are_not_signed_with_content_keys(SignaturePurpose purpose)
    {
        using var key = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        var ex = Assert.Throws<ArgumentException>(() => ContentSignatures.Sign(purpose, "m"u8, key));
        Assert.Contains(purpose.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Changed_message_or_other_key_fails(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);
        using var other = SigningKeyPair.Generate(suite);
        var signature = ContentSignatures.Sign(SignaturePurpose.Receipt, "m"u8, key);

        Assert.False(ContentSignatures.Verify(SignaturePurpose.Receipt, "M"u8, signature, key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Receipt, "m"u8, signature, other.PublicKey));
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Any_flipped_bit_in_the_signature_fails(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, key);

        foreach (var index in new[] { 0, 31, 32, 63, signature.Length - 1 }.Distinct())
        {
            var tampered = (byte[])signature.Clone();
            tampered[index] ^= 0x04;
            Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, tampered, key.PublicKey), $"byte {index}");
        }
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Truncated_or_extended_signature_is_false_not_an_exception(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, key);

        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, signature[..^1], key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, [.. signature, 0], key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, [], key.PublicKey));
    }

    [Fact]
    public void Hybrid_signature_needs_both_halves()
    {
        using var hybrid = SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        using var otherHybrid = SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        var good = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, hybrid);
        var foreign = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, otherHybrid);
        var otherPurpose = ContentSignatures.Sign(SignaturePurpose.Receipt, "m"u8, hybrid);
        var otherMessage = ContentSignatures.Sign(SignaturePurpose.Bundle, "n"u8, hybrid);

        // One half valid, the other from another key, another purpose or another message.
        byte[][] mixed =
        [
            [.. good[..64], .. foreign[64..]],
            [.. foreign[..64], .. good[64..]],
            [.. good[..64], .. otherPurpose[64..]],
            [.. otherPurpose[..64], .. good[64..]],
            [.. good[..64], .. otherMessage[64..]],
            [.. otherMessage[..64], .. good[64..]],
        ];

        Assert.True(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, good, hybrid.PublicKey));
        foreach (var signature in mixed)
        {
            Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, signature, hybrid.PublicKey));
        }
    }

    [Fact]
    public void Classical_signature_is_not_accepted_for_a_hybrid_key_and_vice_versa()
    {
        using var classical = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        using var hybrid = SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        var hybridSignature = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, hybrid);

        // The Ed25519 half alone (stripping the ML-DSA part) must not pass as a hybrid signature.
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, hybridSignature[..64], hybrid.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, hybridSignature, classical.PublicKey));
    }

    // Known answers computed with an independent Ed25519ph implementation written from RFC 8032 (which reproduces
    // the RFC's §7.1 and §7.3 vectors): Ed25519ph(seed, context, "abc") for the RFC 8032 §7.3 key.
    [Theory]
    [InlineData(SignaturePurpose.Bundle, "6a240294c088fc89613f1e40cec54ce8c0fb9969b476587ff551d17aa7fb9d04e4a7f658255a9b0b32f29c78db686f260adbbfc13b99b077ec18f35fe8013700")]
    [InlineData(SignaturePurpose.Receipt, "23e26ca5edffe11493a5e4f501a7937d6833ab7cded900fc7adc0c740e7bbf8ce5939b373bf9946d4fbce41d7a8a8f41d1df31312b08e2a89c929099a03cc106")]
    [InlineData(SignaturePurpose.AuditCheckpoint, "158afc4dfe219eb9d890ce0ffd8d3ad177215aff13e03873c11eedb36213f09f8450dc98f7aa9850536a420633ef918a365c47f140f64b4fc8dce16a1713e202")]
    [InlineData(SignaturePurpose.Withdrawal, "5023ac7548aa09cd24bd6e88fa11d33fdaf2366b28265d13039f0d5b202649c88910e6135cee6b496ca724242832be442c34b843d70a130e1ba044b505067c0d")]
    [InlineData(SignaturePurpose.SightingReport, "036591c41170f90c2720df730b653fc7ee9055864e929844987b675a2a16ee9f6d2ba1bafa481d3d5d642a1e4fe5440da6f60d288cb9223169cea7dc4a756302")]
    public void Classical_signature_is_ed25519ph_with_the_purpose_context_known_answer(SignaturePurpose purpose, string expected)
    {
        using var key = SigningKeyPair.FromEd25519Seed(Convert.FromHexString(RfcSeed));

        var signature = ContentSignatures.Sign(purpose, "abc"u8, key);

        Assert.Equal(Convert.FromHexString(expected), signature);
        Assert.True(ContentSignatures.Verify(purpose, "abc"u8, signature, key.PublicKey));
    }

    [Fact]
    public void Classical_signature_verifies_with_bouncycastles_own_ed25519ph_over_the_whole_message()
    {
        using var key = SigningKeyPair.FromEd25519Seed(Convert.FromHexString(RfcSeed));
        var message = RandomNumberGenerator.GetBytes(100_000);
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, message, key);

        // Ed25519phSigner hashes with BouncyCastle's own SHA-512: a second path to the same standard construction.
        var verifier = new Ed25519phSigner("cybercoop/v2/bundle-signature"u8.ToArray());
        verifier.Init(false, new Ed25519PublicKeyParameters(key.PublicKey.Key.Span));
        verifier.BlockUpdate(message);

        Assert.True(verifier.VerifySignature(signature));
    }

    [Fact]
    public void Hybrid_ml_dsa_half_is_fips_204_ml_dsa_65_with_the_purpose_context_over_the_sha512_digest()
    {
        using var key = LoadKnownHybridKey();
        var message = RandomNumberGenerator.GetBytes(10_000);
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, message, key);
        var digest = new byte[64];
        var sha512 = new Sha512Digest();
        sha512.BlockUpdate(message);
        sha512.DoFinal(digest);
        var publicKey = MLDsaPublicKeyParameters.FromEncoding(MLDsaParameters.ml_dsa_65, key.PublicKey.Key[32..].ToArray());

        Assert.True(VerifyMlDsa(publicKey, "cybercoop/v2/bundle-signature"u8.ToArray(), digest, signature[64..]));
        Assert.False(VerifyMlDsa(publicKey, [], digest, signature[64..]));
        Assert.False(VerifyMlDsa(publicKey, "cybercoop/v2/receipt"u8.ToArray(), digest, signature[64..]));
        Assert.False(VerifyMlDsa(publicKey, "cybercoop/v2/bundle-signature"u8.ToArray(), message, signature[64..]));
    }

    [Fact]
    public void Version_1_classical_signature_does_not_verify_under_version_2()
    {
        var seed = Convert.FromHexString(RfcSeed);
        using var key = SigningKeyPair.FromEd25519Seed(seed);

        foreach (var (purpose, v1Context) in V1Contexts)
        {
            var v1 = Ed25519.Sign(seed, [.. v1Context, 0, .. "abc"u8]);
            Assert.True(Ed25519.Verify(key.PublicKey.Key.Span, [.. v1Context, 0, .. "abc"u8], v1));

            Assert.False(ContentSignatures.Verify(purpose, "abc"u8, v1, key.PublicKey), purpose.ToString());
        }
    }

    [Fact]
    public void Version_1_hybrid_signature_or_either_v1_half_does_not_verify_under_version_2()
    {
        using var key = LoadKnownHybridKey();
        var framed = (byte[])[.. "cybercoop/v1/bundle-signature"u8, 0, .. "abc"u8];
        byte[] v1 = [.. Ed25519.Sign(KnownEd25519Seed, framed), .. MlDsa65.Sign(MlDsa65.PrivateKeyFromSeed(KnownMlDsaSeed), [], framed)];
        var v2 = ContentSignatures.Sign(SignaturePurpose.Bundle, "abc"u8, key);

        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "abc"u8, v1, key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "abc"u8, [.. v1[..64], .. v2[64..]], key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "abc"u8, [.. v2[..64], .. v1[64..]], key.PublicKey));
    }

    [Fact]
    public void Version_2_signature_does_not_verify_as_version_1_or_as_a_signature_over_the_framed_digest()
    {
        using var key = SigningKeyPair.FromEd25519Seed(Convert.FromHexString(RfcSeed));
        var v2 = ContentSignatures.Sign(SignaturePurpose.AuditCheckpoint, "abc"u8, key);
        var digest = SHA512.HashData("abc"u8);

        Assert.False(Ed25519.Verify(key.PublicKey.Key.Span, [.. "cybercoop/v1/audit-checkpoint"u8, 0, .. "abc"u8], v2));
        Assert.False(Ed25519.Verify(key.PublicKey.Key.Span, [.. "cybercoop/v2/audit-checkpoint"u8, 0, .. digest], v2));
        Assert.False(ContentSignatures.VerifyLegacyAuditCheckpoint("abc"u8, v2, key.PublicKey));
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Legacy_audit_checkpoint_signed_with_the_v1_construction_still_verifies_with_the_legacy_check_only(Suite suite)
    {
        using var key = suite == Suite.X25519Aes256GcmEd25519 ? SigningKeyPair.FromEd25519Seed(KnownEd25519Seed) : LoadKnownHybridKey();
        var message = "checkpoint message"u8.ToArray();
        byte[] V1(ReadOnlySpan<byte> context)
        {
            var framed = (byte[])[.. context, 0, .. message];
            var classical = Ed25519.Sign(KnownEd25519Seed, framed);
            return suite == Suite.X25519Aes256GcmEd25519
                ? classical
                : [.. classical, .. MlDsa65.Sign(MlDsa65.PrivateKeyFromSeed(KnownMlDsaSeed), [], framed)];
        }

        var checkpoint = V1("cybercoop/v1/audit-checkpoint"u8);
        var bundle = V1("cybercoop/v1/bundle-signature"u8);

        Assert.True(ContentSignatures.VerifyLegacyAuditCheckpoint(message, checkpoint, key.PublicKey));
        Assert.False(ContentSignatures.VerifyLegacyAuditCheckpoint([.. message, 0], checkpoint, key.PublicKey));
        Assert.False(ContentSignatures.VerifyLegacyAuditCheckpoint(message, bundle, key.PublicKey));
        Assert.False(ContentSignatures.VerifyLegacyAuditCheckpoint(message, checkpoint[..^1], key.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.AuditCheckpoint, message, checkpoint, key.PublicKey));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    public void Signature_of_wrong_length_is_false_not_an_exception(int length)
    {
        using var key = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, new byte[length], key.PublicKey));
    }

    [Fact]
    public void Kem_key_cannot_verify_signatures()
    {
        using var kem = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        Assert.Throws<KeyFormatException>(() => ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, new byte[64], kem.PublicKey));
        Assert.Throws<KeyFormatException>(() => ContentSignatures.VerifyLegacyAuditCheckpoint("m"u8, new byte[64], kem.PublicKey));
    }

    [Fact]
    public void Unknown_purpose_is_rejected()
    {
        using var key = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        Assert.Throws<ArgumentOutOfRangeException>(() => ContentSignatures.Sign((SignaturePurpose)42, "m"u8, key));
        Assert.Throws<ArgumentOutOfRangeException>(() => ContentSignatures.Verify((SignaturePurpose)42, "m"u8, new byte[64], key.PublicKey));
    }

    private static readonly (SignaturePurpose Purpose, byte[] Context)[] V1Contexts =
    [
        (SignaturePurpose.Bundle, "cybercoop/v1/bundle-signature"u8.ToArray()),
        (SignaturePurpose.Receipt, "cybercoop/v1/receipt"u8.ToArray()),
        (SignaturePurpose.AuditCheckpoint, "cybercoop/v1/audit-checkpoint"u8.ToArray()),
    ];

    // The secret of a hybrid key file: Ed25519 seed 0x00..0x1f, ML-DSA-65 seed 0x20..0x3f.
    private static byte[] KnownEd25519Seed => [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    private static byte[] KnownMlDsaSeed => [.. Enumerable.Range(32, 32).Select(i => (byte)i)];

    private SigningKeyPair LoadKnownHybridKey()
    {
        var path = _dir.File($"hybrid-{Guid.NewGuid():N}.key");
        KeyFile.Write(path, KeyFile.SigningLabel, KeyAlgorithm.Ed25519Mldsa65, [.. KnownEd25519Seed, .. KnownMlDsaSeed]);
        return SigningKeyPair.Load(path);
    }

    private static bool VerifyMlDsa(MLDsaPublicKeyParameters key, byte[] context, byte[] message, byte[] signature)
    {
        var verifier = new MLDsaSigner(MLDsaParameters.ml_dsa_65, deterministic: false);
        verifier.Init(false, new ParametersWithContext(key, context));
        verifier.BlockUpdate(message);
        return verifier.VerifySignature(signature);
    }
}
