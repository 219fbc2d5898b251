using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Crypto.Tests;

/// <summary>
/// A receiver gets a bundle's indicators only from <see cref="BundleProtection.Verify"/>, and only when the origin's
/// signature checks with the key the bundle names: negative cases first.
/// </summary>
public sealed class BundleProtectionTests
{
    private const string Origin = "spiffe://ee.cybercoop/gateway/tallinn";

    public static TheoryData<Suite> AllSuites => EnvelopeCryptoTests.AllSuites;

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void A_bundle_whose_bytes_were_changed_after_signing_is_not_verified(Suite suite)
    {
        using var origin = SigningKeyPair.Generate(suite);
        var signed = BundleProtection.Sign(NewBundle().ToByteArray(), origin);
        var bytes = signed.Bundle.ToByteArray();
        bytes[^1] ^= 0x01;
        signed.Bundle = ByteString.CopyFrom(bytes);

        Assert.True(BundleProtection.TryRead(signed.ToByteArray(), out var unverified, out _));
        Assert.Null(BundleProtection.Verify(unverified, origin.PublicKey, out var problem));
        Assert.Equal("the origin's signature over the bundle does not verify", problem);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void A_tampered_signature_is_not_verified(Suite suite)
    {
        using var origin = SigningKeyPair.Generate(suite);
        var signed = BundleProtection.Sign(NewBundle().ToByteArray(), origin);
        var signature = signed.Signature.ToByteArray();
        signature[0] ^= 0x80;
        signed.Signature = ByteString.CopyFrom(signature);

        Assert.True(BundleProtection.TryRead(signed.ToByteArray(), out var unverified, out _));
        Assert.Null(BundleProtection.Verify(unverified, origin.PublicKey, out var problem));
        Assert.Equal("the origin's signature over the bundle does not verify", problem);
    }

    [Fact]
    public void Another_nodes_key_of_the_same_suite_is_refused_before_any_signature_check()
    {
        using var origin = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        using var impostor = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var signed = BundleProtection.Sign(NewBundle().ToByteArray(), impostor);
        signed.SignerKeyId = ByteString.CopyFrom(origin.PublicKey.KeyId);

        Assert.True(BundleProtection.TryRead(signed.ToByteArray(), out var unverified, out _));
        Assert.Null(BundleProtection.Verify(unverified, impostor.PublicKey, out var problem));
        Assert.Equal("the key given is not the one the bundle names as its signer", problem);
        Assert.Null(BundleProtection.Verify(unverified, origin.PublicKey, out problem));
        Assert.Equal("the origin's signature over the bundle does not verify", problem);
    }

    [Fact]
    public void A_bundle_claiming_the_hybrid_suite_is_not_verified_with_a_classical_key()
    {
        using var origin = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var signed = BundleProtection.Sign(NewBundle().ToByteArray(), origin);
        signed.Suite = Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;

        Assert.True(BundleProtection.TryRead(signed.ToByteArray(), out var unverified, out _));
        Assert.Null(BundleProtection.Verify(unverified, origin.PublicKey, out var problem));
        Assert.Equal("the signature suite does not match the origin's key", problem);
    }

    [Fact]
    public void A_kem_key_is_never_taken_as_a_signing_key()
    {
        using var origin = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        using var kem = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        Assert.True(BundleProtection.TryRead(BundleProtection.Sign(NewBundle().ToByteArray(), origin).ToByteArray(), out var unverified, out _));

        Assert.Null(BundleProtection.Verify(unverified, kem.PublicKey, out var problem));
        Assert.Equal("the signature suite does not match the origin's key", problem);
    }

    [Fact]
    public void Bytes_that_are_not_a_signed_bundle_are_refused_with_the_parse_error()
    {
        Assert.False(BundleProtection.TryRead([0xff, 0xff, 0xff, 0xff], out var bundle, out var problem));
        Assert.Null(bundle);
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void A_signer_key_id_that_is_not_16_bytes_is_refused_before_any_key_lookup()
    {
        using var origin = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var signed = BundleProtection.Sign(NewBundle().ToByteArray(), origin);
        signed.SignerKeyId = ByteString.CopyFrom(new byte[8]);

        Assert.False(BundleProtection.TryRead(signed.ToByteArray(), out var bundle, out var problem));
        Assert.Null(bundle);
        Assert.Equal("signer_key_id is 8 bytes, not 16", problem);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Signed_sealed_opened_and_verified_bundle_carries_the_origins_indicators(Suite suite)
    {
        using var origin = SigningKeyPair.Generate(suite);
        using var recipient = KemKeyPair.Generate(suite);
        var bundle = NewBundle();

        var signed = BundleProtection.Sign(bundle.ToByteArray(), origin);
        var envelope = BundleProtection.Seal(EnvelopeCryptoTests.NewHeader(), signed.ToByteArray(), recipient.PublicKey);
        var opened = BundleProtection.Open(envelope, recipient);
        Assert.True(BundleProtection.TryRead(opened.Plaintext, out var unverified, out _));
        Assert.Equal(Origin, unverified.Origin);
        var verified = BundleProtection.Verify(unverified, origin.PublicKey, out var problem);

        Assert.Null(problem);
        Assert.NotNull(verified);
        Assert.Equal(bundle, verified.Bundle);
        Assert.Equal(suite, verified.Signed.Suite);
        Assert.Equal(origin.PublicKey.KeyId, verified.Signed.SignerKeyId.ToByteArray());
    }

    private static Bundle NewBundle()
    {
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(new byte[16]),
            Origin = Origin,
            CreatedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero)),
            FirstRecipient = "spiffe://fi.cybercoop/gateway/helsinki",
        };
        bundle.Indicators.Add(new Indicator { Id = "3f1c7a2e-0b5d-5e8f-9a41-2c6d8e0f1a3b", Type = IndicatorType.Domain, Value = "evil.example", Confidence = 70 });
        return bundle;
    }
}
