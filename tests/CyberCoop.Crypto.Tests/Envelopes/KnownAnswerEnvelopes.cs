using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Crypto.Tests;

/// <summary>
/// Builds the known-answer envelopes of docs/protocol.md Appendix A (one per suite) from fixed inputs with the
/// production code: the origin signs a fixed bundle (ML-DSA-65 in FIPS 204's deterministic variant), and the envelope
/// is sealed with a fixed HPKE ephemeral (and, for the hybrid suite, a fixed ML-KEM encapsulation seed m). Every field
/// is written as lower-case hex (text fields as text) in the order an implementer checks them.
/// </summary>
internal static class KnownAnswerEnvelopes
{
    /// <summary>The vector file in the repository.</summary>
    public static string FilePath => Path.Combine(CyberCoop.Testing.TestData.RepositoryRoot, "tests", "vectors", "envelope-known-answers.txt");

    /// <summary>The origin gateway of the vectors.</summary>
    public const string Origin = "spiffe://ee.cybercoop/gateway/tallinn";

    /// <summary>The recipient gateway of the vectors.</summary>
    public const string Recipient = "spiffe://fi.cybercoop/gateway/helsinki";

    /// <summary>Bytes first, first+1, ... (wrapping), as the fixed inputs are written in the appendix.</summary>
    public static byte[] Counting(int first, int length) => Enumerable.Range(0, length).Select(i => (byte)(first + i)).ToArray();

    /// <summary>The ordered fields of the vector of <paramref name="suite"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Generate(Suite suite)
    {
        var hybrid = suite == Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;
        var signingSecret = hybrid ? [.. Counting(0x01, 32), .. Counting(0x21, 32)] : Counting(0x01, 32);
        var kemX25519 = Counting(0x41, 32);
        var kemMlKemSeed = Counting(0x61, 64);
        var ephemeral = Counting(0xa1, 32);
        var mlKemM = Counting(0xc1, 32);

        using var signing = SigningKeyPair.FromSecret(hybrid ? KeyAlgorithm.Ed25519Mldsa65 : KeyAlgorithm.Ed25519, signingSecret);
        using var kem = hybrid ? KemKeyPair.FromHybridPrivateKey(kemX25519, kemMlKemSeed) : KemKeyPair.FromX25519PrivateKey(kemX25519);

        var bundleBytes = Bundle().ToByteArray();
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, bundleBytes, signing, deterministic: true);
        var signedBundle = new SignedBundle
        {
            Bundle = ByteString.CopyFrom(bundleBytes),
            Suite = suite,
            SignerKeyId = ByteString.CopyFrom(signing.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(signature),
        }.ToByteArray();

        var header = new EnvelopeHeader
        {
            Version = 1,
            EnvelopeId = ByteString.CopyFrom(Counting(0xe0, 16)),
            Sender = Origin,
            Recipient = Recipient,
            SentAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero)),
            HopCount = 0,
        };
        var envelope = EnvelopeCrypto.SealDeterministic(header, signedBundle, kem.PublicKey, ephemeral, hybrid ? new FixedRandom(mlKemM) : null);
        var sealedHeader = EnvelopeHeader.Parser.ParseFrom(envelope.Header);

        // The HPKE intermediate values, recomputed from the same inputs (the sender's side of RFC 9180 §5.1).
        var sharedSecret = hybrid
            ? HybridKemX25519MlKem768.EncapDeterministic(kem.PublicKey.X25519Part, kem.PublicKey.MlKemParameters!, ephemeral, new FixedRandom(mlKemM), out _)
            : DhKemX25519.EncapDeterministic(kem.PublicKey.KeySpan, ephemeral, out _);
        var kemId = hybrid ? Crypto.Hpke.KemIdX25519MlKem768 : Crypto.Hpke.KemIdX25519;
        var schedule = Crypto.Hpke.ComputeKeySchedule(kemId, HpkeAead.Aes256Gcm, (byte[])sharedSecret.Clone(), EnvelopeCrypto.InfoFor(suite));

        var fields = new List<KeyValuePair<string, string>>
        {
            new("suite", ((int)suite).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("origin", Origin),
            new("recipient", Recipient),
            new("origin_signing_secret", Hex(signingSecret)),
            new("origin_signing_public_key", Hex(signing.PublicKey.Key.Span)),
            new("origin_signing_key_id", Hex(signing.PublicKey.KeyId)),
            new("recipient_kem_secret", Hex(hybrid ? [.. kemX25519, .. kemMlKemSeed] : kemX25519)),
            new("recipient_kem_public_key", Hex(kem.PublicKey.Key.Span)),
            new("recipient_kem_key_id", Hex(kem.PublicKey.KeyId)),
            new("bundle", Hex(bundleBytes)),
            new("bundle_sha512", Hex(SHA512.HashData(bundleBytes))),
            new("signature_ed25519ph", Hex(signature.AsSpan(0, 64))),
        };
        if (hybrid)
        {
            fields.Add(new("signature_mldsa65", Hex(signature.AsSpan(64))));
        }

        fields.AddRange(
        [
            new("signed_bundle", Hex(signedBundle)),
            new("hpke_ephemeral_x25519", Hex(ephemeral)),
        ]);
        if (hybrid)
        {
            fields.Add(new("mlkem_encaps_m", Hex(mlKemM)));
        }

        fields.AddRange(
        [
            new("enc", Hex(sealedHeader.EncapsulatedKey.Span)),
            new("hpke_shared_secret", Hex(sharedSecret)),
            new("hpke_key", Hex(schedule.Key)),
            new("hpke_base_nonce", Hex(schedule.BaseNonce)),
            new("header", Hex(envelope.Header.Span)),
            new("ciphertext", Hex(envelope.Ciphertext.Span)),
        ]);
        return fields;
    }

    /// <summary>The vector file's text: a comment header, then one record per suite.</summary>
    public static string FileText()
    {
        var text = new System.Text.StringBuilder();
        text.Append("# CyberCoop known-answer envelopes, one per suite (docs/protocol.md Appendix A).\n");
        text.Append("# Generated by tests/CyberCoop.Crypto.Tests/Envelopes/KnownAnswerEnvelopes.cs; checked by KnownAnswerEnvelopeTests.\n");
        text.Append("# Format: KEY = value records separated by blank lines; bytes as lower-case hex.\n");
        foreach (var suite in new[] { Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 })
        {
            text.Append('\n');
            foreach (var (key, value) in Generate(suite))
            {
                text.Append(key).Append(" = ").Append(value).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>The fixed bundle: one AMBER domain indicator from the origin, created 2026-01-01T00:00:00Z.</summary>
    public static Bundle Bundle()
    {
        var created = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var seen = Timestamp.FromDateTimeOffset(new DateTimeOffset(2025, 12, 31, 23, 0, 0, TimeSpan.Zero));
        var indicator = new Indicator
        {
            Id = "0c786015-ba96-5d91-818a-ac1d67461b01",
            Type = IndicatorType.Domain,
            Value = "grid-update.example.net",
            Tlp = Tlp.Amber,
            Confidence = 70,
            FirstSeen = seen,
            LastSeen = seen,
            OriginDomain = "ee.cybercoop",
        };
        indicator.Observations.Add(new Observation { Node = Origin, Count = 1, Confidence = 70, FirstSeen = seen, LastSeen = seen });
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(Counting(0xf0, 16)),
            Origin = Origin,
            CreatedAt = created,
            RelayAllowed = false,
            MaxHops = 0,
            FirstRecipient = Recipient,
        };
        bundle.Indicators.Add(indicator);
        return bundle;
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
