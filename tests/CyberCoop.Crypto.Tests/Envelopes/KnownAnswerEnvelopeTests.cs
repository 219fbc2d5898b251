using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto.Tests;

/// <summary>
/// The known-answer envelopes an independent implementer checks step by step (docs/protocol.md Appendix A,
/// tests/vectors/envelope-known-answers.txt): the code still produces exactly the published bytes, the published
/// envelope opens and its origin signature verifies through the public API, and the appendix prints the same values.
/// Set CYBERCOOP_WRITE_VECTORS=1 to rewrite the file after an intended change (then update the appendix).
/// </summary>
public sealed class KnownAnswerEnvelopeTests
{
    private static readonly Suite[] Suites = [Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65];

    private static Dictionary<string, string> Published(Suite suite)
    {
        if (Environment.GetEnvironmentVariable("CYBERCOOP_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(KnownAnswerEnvelopes.FilePath, KnownAnswerEnvelopes.FileText());
        }

        return Vectors.ReadRecords(KnownAnswerEnvelopes.FilePath).Single(r => r["suite"] == ((int)suite).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The recipient's KEM key from the published secret (X25519 scalar, then ML-KEM-768 d || z).</summary>
    private static KemKeyPair RecipientKey(Dictionary<string, string> v, bool hybrid)
    {
        var secret = Vectors.Hex(v["recipient_kem_secret"]);
        return hybrid ? KemKeyPair.FromHybridPrivateKey(secret.AsSpan(0, 32), secret.AsSpan(32)) : KemKeyPair.FromX25519PrivateKey(secret);
    }

    private static Envelope EnvelopeOf(byte[] header, Dictionary<string, string> v) => new()
    {
        Header = Google.Protobuf.ByteString.CopyFrom(header),
        Ciphertext = Google.Protobuf.ByteString.CopyFrom(Vectors.Hex(v["ciphertext"])),
    };

    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public void The_code_reproduces_every_published_value_from_the_fixed_inputs(Suite suite)
    {
        var published = Published(suite);

        var generated = KnownAnswerEnvelopes.Generate(suite);

        Assert.Equal(generated.Select(f => f.Key), published.Keys);
        Assert.All(generated, field => Assert.True(published[field.Key] == field.Value, $"{field.Key} differs from the published vector"));
    }

    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public void The_published_envelope_opens_with_the_published_key_and_its_origin_signature_verifies(Suite suite)
    {
        var v = Published(suite);
        var hybrid = suite == Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;
        using var kem = RecipientKey(v, hybrid);
        var envelope = EnvelopeOf(Vectors.Hex(v["header"]), v);

        var header = EnvelopeCrypto.ParseHeader(envelope);
        var opened = EnvelopeCrypto.Open(envelope, kem).Plaintext;
        var signed = SignedBundle.Parser.ParseFrom(opened);
        var originKey = new ContentPublicKey(hybrid ? KeyAlgorithm.Ed25519Mldsa65 : KeyAlgorithm.Ed25519, Vectors.Hex(v["origin_signing_public_key"]));
        var bundle = Bundle.Parser.ParseFrom(signed.Bundle);

        Assert.Equal(v["recipient_kem_public_key"], Convert.ToHexStringLower(kem.PublicKey.Key.Span));
        Assert.Equal(v["recipient_kem_key_id"], Convert.ToHexStringLower(header.RecipientKeyId.Span));
        Assert.Equal(v["recipient_kem_key_id"], Convert.ToHexStringLower(SHA256.HashData([(byte)kem.Algorithm, .. kem.PublicKey.Key.Span])[..16]));
        Assert.Equal(v["enc"], Convert.ToHexStringLower(header.EncapsulatedKey.Span));
        Assert.Equal(suite, header.Suite);
        Assert.Equal(v["signed_bundle"], Convert.ToHexStringLower(opened));
        Assert.Equal(v["bundle"], Convert.ToHexStringLower(signed.Bundle.Span));
        Assert.Equal(v["bundle_sha512"], Convert.ToHexStringLower(SHA512.HashData(signed.Bundle.Span)));
        Assert.Equal(v["origin_signing_key_id"], Convert.ToHexStringLower(signed.SignerKeyId.Span));
        Assert.Equal(v["origin_signing_key_id"], Convert.ToHexStringLower(SHA256.HashData([(byte)originKey.Algorithm, .. originKey.Key.Span])[..16]));
        Assert.Equal(v["signature_ed25519ph"] + (hybrid ? v["signature_mldsa65"] : ""), Convert.ToHexStringLower(signed.Signature.Span));
        Assert.True(ContentSignatures.Verify(SignaturePurpose.Bundle, signed.Bundle.Span, signed.Signature.Span, originKey));
        Assert.Equal(v["origin"], bundle.Origin);
        Assert.Equal(v["recipient"], bundle.FirstRecipient);
        Assert.Equal(v["origin"], header.Sender);
        Assert.Equal(v["recipient"], header.Recipient);
    }

    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public void A_changed_bit_of_the_published_header_or_signature_is_refused(Suite suite)
    {
        var v = Published(suite);
        var hybrid = suite == Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;
        using var kem = RecipientKey(v, hybrid);
        var header = Vectors.Hex(v["header"]);
        header[^1] ^= 0x01; // last byte of hop count / sent_at: still parses, no longer the AAD
        var tampered = EnvelopeOf(header, v);
        var signature = Vectors.Hex(v["signature_ed25519ph"] + (hybrid ? v["signature_mldsa65"] : ""));
        signature[^1] ^= 0x01;
        var originKey = new ContentPublicKey(hybrid ? KeyAlgorithm.Ed25519Mldsa65 : KeyAlgorithm.Ed25519, Vectors.Hex(v["origin_signing_public_key"]));

        Assert.ThrowsAny<CryptographicException>(() => EnvelopeCrypto.Open(tampered, kem));
        Assert.False(ContentSignatures.Verify(SignaturePurpose.Bundle, Vectors.Hex(v["bundle"]), signature, originKey));
    }

    [Fact]
    public void The_protocol_appendix_prints_every_published_value()
    {
        var protocol = File.ReadAllText(Path.Combine(CyberCoop.Testing.TestData.RepositoryRoot, "docs", "protocol.md"));
        var start = protocol.IndexOf("## Appendix A.", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/protocol.md has an Appendix A");
        var appendix = Regex.Replace(protocol[start..], @"\s+", "");

        foreach (var suite in Suites)
        {
            foreach (var (key, value) in Published(suite))
            {
                Assert.True(appendix.Contains(key + "=" + value, StringComparison.Ordinal), $"Appendix A lacks {key} of suite {(int)suite} (or prints another value)");
            }
        }
    }
}
