using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto.Tests;

public sealed class ContentSignaturesTests
{
    public static TheoryData<Suite> AllSuites => [Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65];

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Signature_verifies_for_its_purpose_and_message(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);

        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, "bundle bytes"u8, key);

        Assert.Equal(ContentSignatures.SignatureLength(key.Algorithm), signature.Length);
        Assert.True(ContentSignatures.Verify(SignaturePurpose.Bundle, "bundle bytes"u8, signature, key.PublicKey));
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

        foreach (var index in new[] { 0, 31, 63, signature.Length - 1 })
        {
            var tampered = (byte[])signature.Clone();
            tampered[index] ^= 0x04;
            Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, tampered, key.PublicKey), $"byte {index}");
        }
    }

    [Fact]
    public void Hybrid_signature_needs_both_halves()
    {
        using var hybrid = SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        using var otherHybrid = SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        var good = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, hybrid);
        var foreign = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, otherHybrid);

        // Ed25519 part valid, ML-DSA part from another key; and the reverse.
        byte[] classicalOnly = [.. good[..64], .. foreign[64..]];
        byte[] pqOnly = [.. foreign[..64], .. good[64..]];

        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, classicalOnly, hybrid.PublicKey));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, pqOnly, hybrid.PublicKey));
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

    [Fact]
    public void Classical_signature_is_pure_ed25519_over_context_zero_message()
    {
        using var key = SigningKeyPair.FromEd25519Seed(new byte[32]);
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, key);

        Assert.True(Ed25519.Verify(key.PublicKey.Key.Span, [.. "cybercoop/v1/bundle-signature"u8, 0, .. "m"u8], signature));
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
    }

    [Fact]
    public void Unknown_purpose_is_rejected()
    {
        using var key = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        Assert.Throws<ArgumentOutOfRangeException>(() => ContentSignatures.Sign((SignaturePurpose)42, "m"u8, key));
    }
}
