using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;

namespace CyberCoop.Crypto;

/// <summary>Stateless X25519 (RFC 7748) over BouncyCastle; a fresh parameter object per operation.</summary>
internal static class X25519
{
    public const int KeySize = 32;

    /// <summary>Generates a private key (32 bytes, already clamped on use).</summary>
    public static byte[] GeneratePrivateKey()
    {
        var key = new X25519PrivateKeyParameters(BcRandom.Instance);
        return key.GetEncoded();
    }

    public static byte[] PublicKey(ReadOnlySpan<byte> privateKey)
    {
        RequireLength(privateKey, "X25519 private key");
        var key = new X25519PrivateKeyParameters(privateKey);
        return key.GeneratePublicKey().GetEncoded();
    }

    /// <summary>Raw X25519(k, u). Throws <see cref="CryptographicException"/> when the result is all zero (small-order input).</summary>
    public static void Agree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> sharedSecret)
    {
        RequireLength(privateKey, "X25519 private key");
        RequireLength(publicKey, "X25519 public key");
        var sk = new X25519PrivateKeyParameters(privateKey);
        var pk = new X25519PublicKeyParameters(publicKey);
        if (!TryAgree(sk, pk, sharedSecret))
        {
            throw new CryptographicException("X25519 produced the all-zero shared secret (small-order public key)");
        }
    }

    /// <summary>Raw X25519 returning false (and zero output) on the all-zero result instead of throwing; for RFC 7748 vectors.</summary>
    public static bool TryAgree(X25519PrivateKeyParameters sk, X25519PublicKeyParameters pk, Span<byte> sharedSecret)
    {
        // BouncyCastle's GenerateSecret throws InvalidOperationException on the all-zero output.
        try
        {
            sk.GenerateSecret(pk, sharedSecret);
            return true;
        }
        catch (InvalidOperationException)
        {
            sharedSecret.Clear();
            return false;
        }
    }

    /// <summary>Raw scalar multiplication X25519(k, u) without the all-zero check (RFC 7748 test vectors).</summary>
    public static byte[] ScalarMult(ReadOnlySpan<byte> k, ReadOnlySpan<byte> u)
    {
        RequireLength(k, "X25519 scalar");
        RequireLength(u, "X25519 u-coordinate");
        var result = new byte[KeySize];
        Org.BouncyCastle.Math.EC.Rfc7748.X25519.ScalarMult(k.ToArray(), 0, u.ToArray(), 0, result, 0);
        return result;
    }

    private static void RequireLength(ReadOnlySpan<byte> value, string what)
    {
        if (value.Length != KeySize)
        {
            throw new KeyFormatException($"{what} must be {KeySize} bytes, got {value.Length}");
        }
    }
}
