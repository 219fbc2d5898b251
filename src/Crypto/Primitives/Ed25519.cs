using Org.BouncyCastle.Crypto.Parameters;
using Rfc8032 = Org.BouncyCastle.Math.EC.Rfc8032;

namespace CyberCoop.Crypto;

/// <summary>Stateless pure Ed25519 (RFC 8032) over BouncyCastle.</summary>
internal static class Ed25519
{
    public const int PublicKeySize = 32;
    public const int SeedSize = 32;
    public const int SignatureSize = 64;

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

    private static void RequireSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new KeyFormatException($"Ed25519 private key (seed) must be {SeedSize} bytes, got {seed.Length}");
        }
    }
}
