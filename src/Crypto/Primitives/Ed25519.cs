using Org.BouncyCastle.Crypto.Parameters;
using Rfc8032 = Org.BouncyCastle.Math.EC.Rfc8032;

namespace CyberCoop.Crypto;

/// <summary>
/// Stateless Ed25519 (RFC 8032) over BouncyCastle: pure Ed25519, and Ed25519ph (pre-hashed, with a context) over a
/// SHA-512 digest the caller computes (with the platform's SHA-512, so a large message is hashed once, in native code).
/// </summary>
internal static class Ed25519
{
    public const int PublicKeySize = 32;
    public const int SeedSize = 32;
    public const int SignatureSize = 64;

    /// <summary>Size of the Ed25519ph pre-hash: SHA-512 (RFC 8032 §5.1, PH).</summary>
    public const int PrehashSize = 64;

    /// <summary>Largest Ed25519ph context (RFC 8032 §5.1: at most 255 bytes).</summary>
    public const int MaxContextSize = 255;

    public static byte[] GenerateSeed() => new Ed25519PrivateKeyParameters(BcRandom.Instance).GetEncoded();

    public static byte[] PublicKey(ReadOnlySpan<byte> seed)
    {
        RequireSeed(seed);
        return new Ed25519PrivateKeyParameters(seed).GeneratePublicKey().GetEncoded();
    }

    public static byte[] Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> message)
    {
        RequireSeed(seed);
        var key = new Ed25519PrivateKeyParameters(seed);
        var signature = new byte[SignatureSize];
        key.Sign(Rfc8032.Ed25519.Algorithm.Ed25519, null, message, signature);
        return signature;
    }

    internal static byte[] Sign(Ed25519PrivateKeyParameters key, ReadOnlySpan<byte> message)
    {
        var signature = new byte[SignatureSize];
        key.Sign(Rfc8032.Ed25519.Algorithm.Ed25519, null, message, signature);
        return signature;
    }

    /// <summary>Ed25519ph of a whole message: SHA-512 with the platform, then <see cref="SignPrehash"/> (RFC 8032 §7.3 vectors).</summary>
    public static byte[] SignPh(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> context, ReadOnlySpan<byte> message)
    {
        RequireSeed(seed);
        var key = new Ed25519PrivateKeyParameters(seed);
        Span<byte> prehash = stackalloc byte[PrehashSize];
        System.Security.Cryptography.SHA512.HashData(message, prehash);
        var signature = new byte[SignatureSize];
        SignPrehash(key, context.ToArray(), prehash, signature);
        return signature;
    }

    /// <summary>
    /// Ed25519ph (RFC 8032 §5.1: dom2(phflag = 1, context), PH = SHA-512) over <paramref name="prehash"/>, the
    /// SHA-512 digest of the message, into <paramref name="signature"/> (64 bytes).
    /// </summary>
    public static void SignPrehash(Ed25519PrivateKeyParameters key, byte[] context, ReadOnlySpan<byte> prehash, Span<byte> signature)
    {
        RequirePrehash(context, prehash);
        if (signature.Length != SignatureSize)
        {
            throw new ArgumentException($"Ed25519 signature buffer must be {SignatureSize} bytes, got {signature.Length}", nameof(signature));
        }

        key.Sign(Rfc8032.Ed25519.Algorithm.Ed25519ph, context, prehash, signature);
    }

    /// <summary>Verifies an Ed25519ph signature over a SHA-512 digest; false for a wrong-length signature.</summary>
    public static bool VerifyPrehash(Ed25519PublicKeyParameters key, byte[] context, ReadOnlySpan<byte> prehash, ReadOnlySpan<byte> signature)
    {
        RequirePrehash(context, prehash);
        return signature.Length == SignatureSize && key.Verify(Rfc8032.Ed25519.Algorithm.Ed25519ph, context, prehash, signature);
    }

    /// <summary>Verifies; false for a wrong-length signature or an invalid public key encoding.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize)
        {
            throw new KeyFormatException($"Ed25519 public key must be {PublicKeySize} bytes, got {publicKey.Length}");
        }

        if (signature.Length != SignatureSize)
        {
            return false;
        }

        Ed25519PublicKeyParameters key;
        try
        {
            key = new Ed25519PublicKeyParameters(publicKey);
        }
        catch (ArgumentException)
        {
            return false; // not a point on the curve: no message verifies under it
        }

        return key.Verify(Rfc8032.Ed25519.Algorithm.Ed25519, null, message, signature);
    }

    /// <summary>Decodes a public key; <see cref="KeyFormatException"/> when it is not a valid point encoding.</summary>
    public static Ed25519PublicKeyParameters ParsePublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != PublicKeySize)
        {
            throw new KeyFormatException($"Ed25519 public key must be {PublicKeySize} bytes, got {publicKey.Length}");
        }

        try
        {
            return new Ed25519PublicKeyParameters(publicKey);
        }
        catch (ArgumentException ex)
        {
            throw new KeyFormatException("Ed25519 public key is not a valid point encoding", ex);
        }
    }

    /// <summary>Verifies with an already decoded key; false for a wrong-length signature.</summary>
    public static bool Verify(Ed25519PublicKeyParameters key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == SignatureSize && key.Verify(Rfc8032.Ed25519.Algorithm.Ed25519, null, message, signature);

    private static void RequirePrehash(byte[] context, ReadOnlySpan<byte> prehash)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Length > MaxContextSize)
        {
            throw new ArgumentException($"Ed25519ph context must be at most {MaxContextSize} bytes, got {context.Length}", nameof(context));
        }

        if (prehash.Length != PrehashSize)
        {
            throw new ArgumentException($"Ed25519ph pre-hash must be {PrehashSize} bytes (SHA-512), got {prehash.Length}", nameof(prehash));
        }
    }

    private static void RequireSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new KeyFormatException($"Ed25519 private key (seed) must be {SeedSize} bytes, got {seed.Length}");
        }
    }
}
