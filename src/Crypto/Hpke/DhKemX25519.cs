using System.Security.Cryptography;

namespace CyberCoop.Crypto;

/// <summary>DHKEM(X25519, HKDF-SHA256), kem_id 0x0020 (RFC 9180 §4.1).</summary>
internal static class DhKemX25519
{
    public const ushort KemId = 0x0020;
    public const int EncLength = 32;
    public const int PublicKeyLength = 32;
    public const int SharedSecretLength = 32;

    private static readonly HpkeLabels s_labels = HpkeLabels.ForKem(KemId);

    /// <summary>DeriveKeyPair(ikm) (RFC 9180 §7.1.3): returns the private key.</summary>
    public static byte[] DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        var prk = s_labels.LabeledExtract([], "dkp_prk"u8, ikm);
        try
        {
            return s_labels.LabeledExpand(prk, "sk"u8, [], X25519.KeySize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
        }
    }

    /// <summary>Encap(pkR) with a fresh ephemeral key; returns shared_secret and enc.</summary>
    public static byte[] Encap(ReadOnlySpan<byte> pkR, out byte[] enc)
    {
        var skE = RandomNumberGenerator.GetBytes(X25519.KeySize);
        try
        {
            return EncapDeterministic(pkR, skE, out enc);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(skE);
        }
    }

    /// <summary>Encap with a given ephemeral private key (test vectors only).</summary>
    public static byte[] EncapDeterministic(ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> skE, out byte[] enc)
    {
        if (pkR.Length != PublicKeyLength)
        {
            throw new KeyFormatException($"X25519 recipient public key must be {PublicKeyLength} bytes, got {pkR.Length}");
        }

        Span<byte> dh = stackalloc byte[X25519.KeySize];
        try
        {
            X25519.Agree(skE, pkR, dh);
            enc = X25519.PublicKey(skE);
            return ExtractAndExpand(dh, enc, pkR);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>Decap(enc, skR).</summary>
    public static byte[] Decap(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> skR)
    {
        if (skR.Length != X25519.KeySize)
        {
            throw new KeyFormatException($"X25519 private key must be {X25519.KeySize} bytes, got {skR.Length}");
        }

        return Decap(enc, skR, X25519.PublicKey(skR));
    }

    /// <summary>Decap(enc, skR) with pkR supplied by the caller (it must be skR's public key).</summary>
    public static byte[] Decap(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> skR, ReadOnlySpan<byte> pkRm)
    {
        if (enc.Length != EncLength)
        {
            throw new KeyFormatException($"X25519 encapsulated key must be {EncLength} bytes, got {enc.Length}");
        }

        if (skR.Length != X25519.KeySize)
        {
            throw new KeyFormatException($"X25519 private key must be {X25519.KeySize} bytes, got {skR.Length}");
        }

        Span<byte> dh = stackalloc byte[X25519.KeySize];
        try
        {
            X25519.Agree(skR, enc, dh);
            return ExtractAndExpand(dh, enc, pkRm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    private static byte[] ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> pkRm)
    {
        Span<byte> kemContext = stackalloc byte[EncLength + PublicKeyLength];
        enc.CopyTo(kemContext);
        pkRm.CopyTo(kemContext[EncLength..]);
        var prk = s_labels.LabeledExtract([], "eae_prk"u8, dh);
        try
        {
            return s_labels.LabeledExpand(prk, "shared_secret"u8, kemContext, SharedSecretLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
        }
    }
}
