using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Crypto.Tests;

public sealed class EnvelopeCryptoTests
{
    public static TheoryData<Suite> AllSuites => [Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65];

    internal static EnvelopeHeader NewHeader() => new()
    {
        Sender = "spiffe://ee.cybercoop/gateway/tallinn",
        Recipient = "spiffe://fi.cybercoop/gateway/helsinki",
        SentAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero)),
        HopCount = 0,
    };

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Sealed_envelope_opens_with_the_recipient_key_and_returns_header_and_plaintext(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        var plaintext = "signed bundle bytes"u8.ToArray();

        var envelope = EnvelopeCrypto.Seal(NewHeader(), plaintext, recipient.PublicKey);
        var opened = EnvelopeCrypto.Open(envelope, recipient);

        Assert.Equal(plaintext, opened.Plaintext);
        Assert.Equal(suite, opened.Header.Suite);
        Assert.Equal(1u, opened.Header.Version);
        Assert.Equal(16, opened.Header.EnvelopeId.Length);
        Assert.Equal(recipient.PublicKey.KeyId, opened.Header.RecipientKeyId.ToByteArray());
        Assert.Equal("spiffe://ee.cybercoop/gateway/tallinn", opened.Header.Sender);
        Assert.Equal(EnvelopeCrypto.EncapsulatedKeyLength(suite), opened.Header.EncapsulatedKey.Length);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Envelope_for_another_recipient_key_is_refused_before_decryption(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        using var other = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), [1, 2, 3], recipient.PublicKey);

        Assert.Throws<EnvelopeKeyMismatchException>(() => EnvelopeCrypto.Open(envelope, other));
    }

    [Fact]
    public void Envelope_sealed_under_classical_suite_is_refused_by_hybrid_key()
    {
        using var classical = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        using var hybrid = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), [1, 2, 3], classical.PublicKey);

        var ex = Assert.Throws<EnvelopeKeyMismatchException>(() => EnvelopeCrypto.Open(envelope, hybrid));
        Assert.Contains("suite", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Flipped_bit_in_ciphertext_fails_to_open(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), new byte[100], recipient.PublicKey);
        var ct = envelope.Ciphertext.ToByteArray();
        ct[50] ^= 0x01;
        envelope.Ciphertext = ByteString.CopyFrom(ct);

        Assert.ThrowsAny<CryptographicException>(() => EnvelopeCrypto.Open(envelope, recipient));
    }
}
