using System.Security.Cryptography;
using Org.BouncyCastle.Security;

namespace CyberCoop.Crypto;

/// <summary>
/// HPKE base mode (RFC 9180) with DHKEM(X25519, HKDF-SHA256) (kem_id 0x0020), HKDF-SHA256 (kdf_id 0x0001)
/// and AES-128-GCM / AES-256-GCM. Keys are raw 32-byte X25519 keys.
/// </summary>
internal static class Hpke
{
    /// <summary>kdf_id of HKDF-SHA256.</summary>
    public const ushort KdfIdHkdfSha256 = 0x0001;

    /// <summary>kem_id of DHKEM(X25519, HKDF-SHA256).</summary>
    public const ushort KemIdX25519 = DhKemX25519.KemId;

    /// <summary>kem_id of the CyberCoop hybrid X25519+ML-KEM-768 KEM (private use).</summary>
    public const ushort KemIdX25519MlKem768 = HybridKemX25519MlKem768.KemId;

    private const byte ModeBase = 0x00;

    /// <summary>Single-shot seal to <paramref name="recipientPublicKey"/>.</summary>
    public static HpkeSealResult Seal(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, HpkeAead aead = HpkeAead.Aes256Gcm)
    {
        using var context = SetupBaseSender(recipientPublicKey, info, out var enc, aead);
        return new HpkeSealResult(enc, context.Seal(aad, plaintext));
    }

    /// <summary>
    /// Single-shot open. Throws <see cref="KeyFormatException"/> for wrong-length keys or enc, and
    /// <see cref="CryptographicException"/> when authentication fails; never returns partial plaintext.
    /// </summary>
    public static byte[] Open(ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, HpkeAead aead = HpkeAead.Aes256Gcm)
    {
        using var context = SetupBaseRecipient(recipientPrivateKey, enc, info, aead);
        return context.Open(aad, ciphertext);
    }

    /// <summary>Single-shot secret export for the sender (RFC 9180 §6.2 SendExport): returns the secret and <paramref name="enc"/>.</summary>
    public static byte[] SendExport(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> exporterContext, int length, out byte[] enc, HpkeAead aead = HpkeAead.Aes256Gcm)
    {
        using var context = SetupBaseSender(recipientPublicKey, info, out enc, aead);
        return context.Export(exporterContext, length);
    }

    /// <summary>Single-shot secret export for the recipient (RFC 9180 §6.2 ReceiveExport).</summary>
    public static byte[] ReceiveExport(ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> info, ReadOnlySpan<byte> exporterContext, int length, HpkeAead aead = HpkeAead.Aes256Gcm)
    {
        using var context = SetupBaseRecipient(recipientPrivateKey, enc, info, aead);
        return context.Export(exporterContext, length);
    }

    /// <summary>SetupBaseS (RFC 9180 §5.1.1): a sender context and the encapsulated key to transmit.</summary>
    public static HpkeContext SetupBaseSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, out byte[] enc, HpkeAead aead = HpkeAead.Aes256Gcm)
    {
        ValidateAead(aead);
        var sharedSecret = DhKemX25519.Encap(recipientPublicKey, out enc);
        return KeySchedule(DhKemX25519.KemId, aead, sharedSecret, info, isSender: true);
    }

    /// <summary>SetupBaseR (RFC 9180 §5.1.1): a recipient context for <paramref name="enc"/>.</summary>
    public static HpkeContext SetupBaseRecipient(ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> info, HpkeAead aead = HpkeAead.Aes256Gcm)
    {
        ValidateAead(aead);
        var sharedSecret = DhKemX25519.Decap(enc, recipientPrivateKey);
        return KeySchedule(DhKemX25519.KemId, aead, sharedSecret, info, isSender: false);
    }

    /// <summary>Deterministic SetupBaseS with a given ephemeral private key; for test vectors only.</summary>
    internal static HpkeContext SetupBaseSenderDeterministic(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> ephemeralPrivateKey, ReadOnlySpan<byte> info, out byte[] enc, out byte[] sharedSecret, HpkeAead aead)
    {
        ValidateAead(aead);
        var secret = DhKemX25519.EncapDeterministic(recipientPublicKey, ephemeralPrivateKey, out enc);
        sharedSecret = (byte[])secret.Clone();
        return KeySchedule(DhKemX25519.KemId, aead, secret, info, isSender: true);
    }

    /// <summary>
    /// Sender setup for a CyberCoop content KEM key with the sender's randomness supplied (the X25519 ephemeral scalar;
    /// for the hybrid KEM also ML-KEM's m, drawn from <paramref name="mlKemRandom"/>): for known-answer vectors only.
    /// </summary>
    internal static HpkeContext SetupBaseSenderDeterministic(ContentPublicKey recipient, ReadOnlySpan<byte> ephemeralX25519, SecureRandom? mlKemRandom,
        ReadOnlySpan<byte> info, out byte[] enc, HpkeAead aead)
    {
        ValidateAead(aead);
        switch (recipient.Algorithm)
        {
            case Contracts.V1.KeyAlgorithm.X25519:
                return KeySchedule(DhKemX25519.KemId, aead, DhKemX25519.EncapDeterministic(recipient.KeySpan, ephemeralX25519, out enc), info, isSender: true);
            case Contracts.V1.KeyAlgorithm.X25519Mlkem768:
                ArgumentNullException.ThrowIfNull(mlKemRandom);
                return KeySchedule(HybridKemX25519MlKem768.KemId, aead,
                    HybridKemX25519MlKem768.EncapDeterministic(recipient.X25519Part, recipient.MlKemParameters!, ephemeralX25519, mlKemRandom, out enc), info, isSender: true);
            default:
                throw new KeyFormatException($"{ContentPublicKey.Name(recipient.Algorithm)} key is not a KEM key; cannot seal to it");
        }
    }

    /// <summary>Sender setup for any CyberCoop content KEM key (classical or hybrid).</summary>
    internal static HpkeContext SetupBaseSender(ContentPublicKey recipient, ReadOnlySpan<byte> info, out byte[] enc, HpkeAead aead)
    {
        ValidateAead(aead);
        switch (recipient.Algorithm)
        {
            case Contracts.V1.KeyAlgorithm.X25519:
                return KeySchedule(DhKemX25519.KemId, aead, DhKemX25519.Encap(recipient.KeySpan, out enc), info, isSender: true);
            case Contracts.V1.KeyAlgorithm.X25519Mlkem768:
                return KeySchedule(HybridKemX25519MlKem768.KemId, aead, HybridKemX25519MlKem768.Encap(recipient.X25519Part, recipient.MlKemParameters!, out enc), info, isSender: true);
            default:
                throw new KeyFormatException($"{ContentPublicKey.Name(recipient.Algorithm)} key is not a KEM key; cannot seal to it");
        }
    }

    /// <summary>Recipient setup for any CyberCoop content KEM key (classical or hybrid).</summary>
    internal static HpkeContext SetupBaseRecipient(KemKeyPair recipient, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> info, HpkeAead aead)
    {
        ValidateAead(aead);
        return recipient.Algorithm switch
        {
            Contracts.V1.KeyAlgorithm.X25519 =>
                KeySchedule(DhKemX25519.KemId, aead, DhKemX25519.Decap(enc, recipient.X25519PrivateKey, recipient.PublicKey.X25519Part), info, isSender: false),
            Contracts.V1.KeyAlgorithm.X25519Mlkem768 =>
                KeySchedule(HybridKemX25519MlKem768.KemId, aead, HybridKemX25519MlKem768.Decap(enc, recipient.X25519PrivateKey, recipient.PublicKey.X25519Part, recipient.MlKemPrivateKey!), info, isSender: false),
            _ => throw new KeyFormatException($"{ContentPublicKey.Name(recipient.Algorithm)} key is not a KEM key"),
        };
    }

    /// <summary>KeySchedule (RFC 9180 §5.1) for mode_base; consumes and clears <paramref name="sharedSecret"/>.</summary>
    internal static HpkeContext KeySchedule(ushort kemId, HpkeAead aead, byte[] sharedSecret, ReadOnlySpan<byte> info, bool isSender)
    {
        var values = ComputeKeySchedule(kemId, aead, sharedSecret, info);
        CryptographicOperations.ZeroMemory(values.Secret);
        return new HpkeContext(values.Labels, values.Key, values.BaseNonce, values.ExporterSecret, isSender);
    }

    /// <summary>The key schedule's intermediate values (exposed for RFC 9180 vectors); clears <paramref name="sharedSecret"/>.</summary>
    internal static HpkeKeyScheduleValues ComputeKeySchedule(ushort kemId, HpkeAead aead, byte[] sharedSecret, ReadOnlySpan<byte> info)
    {
        var labels = HpkeLabels.ForHpke(kemId, KdfIdHkdfSha256, (ushort)aead);
        var pskIdHash = labels.LabeledExtract([], "psk_id_hash"u8, []);
        var infoHash = labels.LabeledExtract([], "info_hash"u8, info);
        var context = new byte[1 + pskIdHash.Length + infoHash.Length];
        context[0] = ModeBase;
        pskIdHash.CopyTo(context, 1);
        infoHash.CopyTo(context, 1 + pskIdHash.Length);
        try
        {
            var secret = labels.LabeledExtract(sharedSecret, "secret"u8, []);
            var key = labels.LabeledExpand(secret, "key"u8, context, KeyLength(aead));
            var baseNonce = labels.LabeledExpand(secret, "base_nonce"u8, context, 12);
            var exporterSecret = labels.LabeledExpand(secret, "exp"u8, context, HpkeLabels.HashLength);
            return new HpkeKeyScheduleValues(labels, context, secret, key, baseNonce, exporterSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    private static int KeyLength(HpkeAead aead) => aead switch
    {
        HpkeAead.Aes128Gcm => 16,
        HpkeAead.Aes256Gcm => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(aead), aead, "unsupported HPKE AEAD"),
    };

    private static void ValidateAead(HpkeAead aead)
    {
        if (aead is not (HpkeAead.Aes128Gcm or HpkeAead.Aes256Gcm))
        {
            throw new ArgumentOutOfRangeException(nameof(aead), aead, "unsupported HPKE AEAD (supported: 1 = AES-128-GCM, 2 = AES-256-GCM)");
        }
    }
}
