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
        HopCount = 2,
    };

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Sealed_envelope_opens_with_the_recipient_key_and_returns_header_and_plaintext(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        var plaintext = RandomNumberGenerator.GetBytes(4096);

        var envelope = EnvelopeCrypto.Seal(NewHeader(), plaintext, recipient.PublicKey);
        var opened = EnvelopeCrypto.Open(envelope, recipient);

        Assert.Equal(plaintext, opened.Plaintext);
        Assert.Equal(suite, opened.Header.Suite);
        Assert.Equal(1u, opened.Header.Version);
        Assert.Equal(16, opened.Header.EnvelopeId.Length);
        Assert.Equal(recipient.PublicKey.KeyId, opened.Header.RecipientKeyId.ToByteArray());
        Assert.Equal("spiffe://ee.cybercoop/gateway/tallinn", opened.Header.Sender);
        Assert.Equal("spiffe://fi.cybercoop/gateway/helsinki", opened.Header.Recipient);
        Assert.Equal(2u, opened.Header.HopCount);
        Assert.Equal(EnvelopeCrypto.EncapsulatedKeyLength(suite), opened.Header.EncapsulatedKey.Length);
        Assert.Equal(plaintext.Length + 16, envelope.Ciphertext.Length);
    }

    [Fact]
    public void Empty_plaintext_round_trips()
    {
        using var recipient = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        var opened = EnvelopeCrypto.Open(EnvelopeCrypto.Seal(NewHeader(), [], recipient.PublicKey), recipient);

        Assert.Empty(opened.Plaintext);
    }

    [Fact]
    public void Seal_keeps_a_caller_envelope_id_and_does_not_modify_the_callers_header()
    {
        using var recipient = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var header = NewHeader();
        header.EnvelopeId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray());
        var before = header.Clone();

        var envelope = EnvelopeCrypto.Seal(header, [1], recipient.PublicKey);

        Assert.Equal(before, header);
        Assert.Equal(header.EnvelopeId, EnvelopeCrypto.ParseHeader(envelope).EnvelopeId);
    }

    [Fact]
    public void Each_envelope_gets_a_fresh_id_and_encapsulation()
    {
        using var recipient = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        var a = EnvelopeCrypto.ParseHeader(EnvelopeCrypto.Seal(NewHeader(), [1], recipient.PublicKey));
        var b = EnvelopeCrypto.ParseHeader(EnvelopeCrypto.Seal(NewHeader(), [1], recipient.PublicKey));

        Assert.NotEqual(a.EnvelopeId, b.EnvelopeId);
        Assert.NotEqual(a.EncapsulatedKey, b.EncapsulatedKey);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Any_flipped_bit_anywhere_in_header_fails_to_open(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), "secret"u8, recipient.PublicKey);
        var header = envelope.Header.ToByteArray();
        var step = suite == Suite.X25519Aes256GcmEd25519 ? 1 : 7; // the hybrid header is ~1.2 KB: sample it

        for (var i = 0; i < header.Length; i += step)
        {
            for (var bit = 0; bit < 8; bit += 3)
            {
                var tampered = (byte[])header.Clone();
                tampered[i] ^= (byte)(1 << bit);
                var copy = new Envelope { Header = ByteString.CopyFrom(tampered), Ciphertext = envelope.Ciphertext };
                AssertFailsToOpen(copy, recipient, $"header byte {i} bit {bit}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Any_flipped_bit_in_the_encapsulated_key_fails_to_open(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), "secret"u8, recipient.PublicKey);
        var header = EnvelopeCrypto.ParseHeader(envelope);
        var length = header.EncapsulatedKey.Length;

        foreach (var index in new[] { 0, 1, 16, 31, length / 2, length - 1 }.Distinct())
        {
            var tampered = header.Clone();
            var enc = tampered.EncapsulatedKey.ToByteArray();
            enc[index] ^= 0x01;
            tampered.EncapsulatedKey = ByteString.CopyFrom(enc);
            var copy = new Envelope { Header = tampered.ToByteString(), Ciphertext = envelope.Ciphertext };
            AssertFailsToOpen(copy, recipient, $"enc byte {index}");
        }
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Any_flipped_bit_in_ciphertext_or_tag_fails_to_open(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), new byte[64], recipient.PublicKey);
        var ct = envelope.Ciphertext.ToByteArray();

        for (var i = 0; i < ct.Length; i++)
        {
            var tampered = (byte[])ct.Clone();
            tampered[i] ^= (byte)(1 << (i % 8));
            var copy = new Envelope { Header = envelope.Header, Ciphertext = ByteString.CopyFrom(tampered) };
            AssertFailsToOpen(copy, recipient, i < 64 ? $"ciphertext byte {i}" : $"tag byte {i - 64}");
        }
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Envelope_for_another_recipient_key_is_refused_before_decryption(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        using var other = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), [1, 2, 3], recipient.PublicKey);

        var ex = Assert.Throws<EnvelopeKeyMismatchException>(() => EnvelopeCrypto.Open(envelope, other));
        Assert.Contains(recipient.PublicKey.KeyIdHex, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Wrong_recipient_key_under_a_forged_key_id_fails_to_decrypt(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        using var other = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), [1, 2, 3], recipient.PublicKey);
        var header = EnvelopeCrypto.ParseHeader(envelope);
        header.RecipientKeyId = ByteString.CopyFrom(other.PublicKey.KeyId);
        var relabelled = new Envelope { Header = header.ToByteString(), Ciphertext = envelope.Ciphertext };

        Assert.ThrowsAny<CryptographicException>(() => EnvelopeCrypto.Open(relabelled, other));
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

    [Fact]
    public void Envelope_sealed_under_hybrid_suite_is_refused_by_classical_key()
    {
        using var classical = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        using var hybrid = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), [1, 2, 3], hybrid.PublicKey);

        Assert.Throws<EnvelopeKeyMismatchException>(() => EnvelopeCrypto.Open(envelope, classical));
    }

    [Fact]
    public void Hybrid_envelope_downgraded_to_classical_suite_with_shared_x25519_key_fails()
    {
        // The recipient uses the same X25519 scalar in both of its keys: the worst case for confusion.
        var x = RandomNumberGenerator.GetBytes(32);
        using var hybrid = KemKeyPair.FromHybridPrivateKey(x, RandomNumberGenerator.GetBytes(64));
        using var classical = KemKeyPair.FromX25519PrivateKey(x);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), "secret"u8, hybrid.PublicKey);

        // Attacker rewrites the header: classical suite, classical key id, only the X25519 share as enc.
        var header = EnvelopeCrypto.ParseHeader(envelope);
        header.Suite = Suite.X25519Aes256GcmEd25519;
        header.RecipientKeyId = ByteString.CopyFrom(classical.PublicKey.KeyId);
        header.EncapsulatedKey = ByteString.CopyFrom(header.EncapsulatedKey.Span[..32]);
        var downgraded = new Envelope { Header = header.ToByteString(), Ciphertext = envelope.Ciphertext };

        Assert.ThrowsAny<CryptographicException>(() => EnvelopeCrypto.Open(downgraded, classical));
    }

    [Fact]
    public void Classical_envelope_upgraded_to_hybrid_suite_with_shared_x25519_key_fails()
    {
        var x = RandomNumberGenerator.GetBytes(32);
        using var hybrid = KemKeyPair.FromHybridPrivateKey(x, RandomNumberGenerator.GetBytes(64));
        using var classical = KemKeyPair.FromX25519PrivateKey(x);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), "secret"u8, classical.PublicKey);
        var header = EnvelopeCrypto.ParseHeader(envelope);
        header.Suite = Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;
        header.RecipientKeyId = ByteString.CopyFrom(hybrid.PublicKey.KeyId);
        header.EncapsulatedKey = ByteString.CopyFrom([.. header.EncapsulatedKey.Span, .. new byte[1088]]);
        var upgraded = new Envelope { Header = header.ToByteString(), Ciphertext = envelope.Ciphertext };

        Assert.ThrowsAny<CryptographicException>(() => EnvelopeCrypto.Open(upgraded, hybrid));
    }

    [Fact]
    public void Seal_refuses_a_signing_key()
    {
        using var signing = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        Assert.Throws<ArgumentException>(() => EnvelopeCrypto.Seal(NewHeader(), [1], signing.PublicKey));
    }

    [Fact]
    public void Seal_refuses_unknown_version_and_bad_envelope_id()
    {
        using var recipient = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var v2 = NewHeader();
        v2.Version = 2;
        var shortId = NewHeader();
        shortId.EnvelopeId = ByteString.CopyFrom(new byte[8]);

        Assert.Throws<ArgumentException>(() => EnvelopeCrypto.Seal(v2, [1], recipient.PublicKey));
        Assert.Throws<ArgumentException>(() => EnvelopeCrypto.Seal(shortId, [1], recipient.PublicKey));
    }

    public static TheoryData<string, string> MalformedHeaders => new()
    {
        { "version 0", "unknown envelope version 0" },
        { "version 2", "unknown envelope version 2" },
        { "suite 0", "unknown or unsupported suite 0" },
        { "suite 9", "unknown or unsupported suite 9" },
        { "envelope id 15", "envelope_id must be 16 bytes, got 15" },
        { "key id 0", "recipient_key_id must be 16 bytes, got 0" },
        { "enc 31", "encapsulated_key for suite 1 must be 32 bytes, got 31" },
        { "enc 1120", "encapsulated_key for suite 1 must be 32 bytes, got 1120" },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Malformed_headers_are_rejected_naming_the_field(string change, string message)
    {
        using var recipient = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), [1], recipient.PublicKey);
        var header = EnvelopeCrypto.ParseHeader(envelope);
        switch (change)
        {
            case "version 0": header.Version = 0; break;
            case "version 2": header.Version = 2; break;
            case "suite 0": header.Suite = Suite.Unspecified; break;
            case "suite 9": header.Suite = (Suite)9; break;
            case "envelope id 15": header.EnvelopeId = ByteString.CopyFrom(new byte[15]); break;
            case "key id 0": header.RecipientKeyId = ByteString.Empty; break;
            case "enc 31": header.EncapsulatedKey = ByteString.CopyFrom(new byte[31]); break;
            case "enc 1120": header.EncapsulatedKey = ByteString.CopyFrom(new byte[1120]); break;
        }

        var bad = new Envelope { Header = header.ToByteString(), Ciphertext = envelope.Ciphertext };

        var parse = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCrypto.ParseHeader(bad));
        var open = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCrypto.Open(bad, recipient));
        Assert.Contains(message, parse.Message, StringComparison.Ordinal);
        Assert.Contains(message, open.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AllSuites))]
    public void Truncated_envelopes_are_rejected_without_plaintext(Suite suite)
    {
        using var recipient = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), new byte[100], recipient.PublicKey);
        var header = envelope.Header.ToByteArray();
        var ct = envelope.Ciphertext.ToByteArray();

        foreach (var cut in new[] { 0, 1, header.Length / 2, header.Length - 1 })
        {
            var truncated = new Envelope { Header = ByteString.CopyFrom(header, 0, cut), Ciphertext = envelope.Ciphertext };
            var ex = Record.Exception(() => EnvelopeCrypto.Open(truncated, recipient));
            Assert.True(ex is CryptoFormatException or CryptographicException, $"header cut at {cut}: {ex?.GetType().Name}");
        }

        foreach (var cut in new[] { 0, 15, 16, ct.Length - 1 })
        {
            var truncated = new Envelope { Header = envelope.Header, Ciphertext = ByteString.CopyFrom(ct, 0, cut) };
            var ex = Record.Exception(() => EnvelopeCrypto.Open(truncated, recipient));
            Assert.True(ex is EnvelopeFormatException or CryptographicException, $"ciphertext cut at {cut}: {ex?.GetType().Name}");
        }
    }

    [Fact]
    public void Garbage_header_bytes_are_a_format_error()
    {
        using var recipient = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var garbage = new Envelope { Header = ByteString.CopyFrom(0xFF, 0xFF, 0xFF), Ciphertext = ByteString.CopyFrom(new byte[32]) };

        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCrypto.Open(garbage, recipient));
        Assert.Contains("truncated or not a valid EnvelopeHeader", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_envelope_is_a_format_error()
    {
        using var recipient = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);

        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCrypto.Open(new Envelope(), recipient));
        Assert.Contains("header is empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_strings_are_distinct_per_suite()
    {
        Assert.Equal("cybercoop/v1/envelope/x25519-aes256gcm"u8.ToArray(), EnvelopeCrypto.InfoFor(Suite.X25519Aes256GcmEd25519).ToArray());
        Assert.Equal("cybercoop/v1/envelope/x25519mlkem768-aes256gcm"u8.ToArray(), EnvelopeCrypto.InfoFor(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65).ToArray());
        Assert.Throws<KeyFormatException>(() => EnvelopeCrypto.InfoFor(Suite.Unspecified));
    }

    [Fact]
    public void Classical_envelope_is_plain_rfc9180_hpke_over_the_header_bytes()
    {
        // Interop: a reimplementation needs only RFC 9180 + the info string + AAD = header bytes.
        var sk = X25519.GeneratePrivateKey();
        using var recipient = KemKeyPair.FromX25519PrivateKey(sk);
        var envelope = EnvelopeCrypto.Seal(NewHeader(), "interop"u8, recipient.PublicKey);
        var header = EnvelopeCrypto.ParseHeader(envelope);

        var plaintext = Crypto.Hpke.Open(sk, header.EncapsulatedKey.Span, "cybercoop/v1/envelope/x25519-aes256gcm"u8, envelope.Header.Span, envelope.Ciphertext.Span, HpkeAead.Aes256Gcm);

        Assert.Equal("interop"u8.ToArray(), plaintext);
    }

    private static void AssertFailsToOpen(Envelope envelope, KemKeyPair recipient, string what)
    {
        var ex = Record.Exception(() => EnvelopeCrypto.Open(envelope, recipient));
        Assert.True(ex is CryptographicException or CryptoFormatException, $"{what}: expected a refusal, got {(ex is null ? "plaintext" : ex.GetType().Name)}");
    }
}
