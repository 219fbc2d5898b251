using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace CyberCoop.Crypto;

/// <summary>
/// CyberCoop hybrid KEM X25519 + ML-KEM-768 (kem_id 0xFF01, private use), an X-Wing-style combiner:
/// <code>
/// pk  = pk_X (32) || pk_M (1184)          ct = ct_X (32) || ct_M (1088)
/// ss  = SHA3-256(ss_M || ss_X || ct_X || pk_X || "CyberCoop-v1 X25519MLKEM768")
/// </code>
/// where ss_X = X25519(ek_X, pk_X) with a fresh ephemeral scalar ek_X, ct_X = X25519(ek_X, 9), and
/// (ss_M, ct_M) = ML-KEM-768.Encaps(pk_M). Both secrets enter the hash, so the result is secret as long
/// as either component is. See docs/crypto.md.
/// </summary>
internal static class HybridKemX25519MlKem768
{
    public const ushort KemId = 0xFF01;
    public const int EncLength = X25519.KeySize + MlKem768.CiphertextSize;
    public const int PublicKeyLength = X25519.KeySize + MlKem768.PublicKeySize;
    public const int SharedSecretLength = 32;

    /// <summary>ASCII "CyberCoop-v1 X25519MLKEM768".</summary>
    public static ReadOnlySpan<byte> Label => "CyberCoop-v1 X25519MLKEM768"u8;

    public static byte[] Encap(ReadOnlySpan<byte> pkR, out byte[] enc)
    {
        if (pkR.Length != PublicKeyLength)
        {
            throw new KeyFormatException($"X25519+ML-KEM-768 recipient public key must be {PublicKeyLength} bytes, got {pkR.Length}");
        }

        return Encap(pkR[..X25519.KeySize], MlKem768.PublicKey(pkR[X25519.KeySize..]), out enc);
    }

    /// <summary>Encap with the ML-KEM part already decoded (cached in <see cref="ContentPublicKey"/>).</summary>
    public static byte[] Encap(ReadOnlySpan<byte> pkX, MLKemPublicKeyParameters pkM, out byte[] enc)
    {
        var skE = RandomNumberGenerator.GetBytes(X25519.KeySize);
        try
        {
            return EncapDeterministic(pkX, pkM, skE, BcRandom.Instance, out enc);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(skE);
        }
    }

    /// <summary>
    /// Encap with the X25519 ephemeral scalar and the ML-KEM randomness (the 32-byte m of FIPS 203
    /// ML-KEM.Encaps, drawn from <paramref name="mlKemRandom"/>) supplied: for known-answer tests only.
    /// </summary>
    internal static byte[] EncapDeterministic(ReadOnlySpan<byte> pkX, MLKemPublicKeyParameters pkM, ReadOnlySpan<byte> skE, SecureRandom mlKemRandom, out byte[] enc)
    {
        Span<byte> ssX = stackalloc byte[32];
        Span<byte> ssM = stackalloc byte[32];
        try
        {
            X25519.Agree(skE, pkX, ssX);
            var ctX = X25519.PublicKey(skE);
            enc = new byte[EncLength];
            ctX.CopyTo(enc, 0);
            MlKem768.Encapsulate(pkM, enc.AsSpan(X25519.KeySize), ssM, mlKemRandom);
            return Combine(ssM, ssX, ctX, pkX);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ssX);
            CryptographicOperations.ZeroMemory(ssM);
        }
    }

    public static byte[] Decap(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> x25519PrivateKey, MLKemPrivateKeyParameters mlKemPrivateKey) =>
        Decap(enc, x25519PrivateKey, X25519.PublicKey(x25519PrivateKey), mlKemPrivateKey);

    /// <summary>Decap with the recipient's X25519 public key supplied (saves a scalar multiplication).</summary>
    public static byte[] Decap(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> x25519PrivateKey, ReadOnlySpan<byte> pkX, MLKemPrivateKeyParameters mlKemPrivateKey)
    {
        if (enc.Length != EncLength)
        {
            throw new KeyFormatException($"X25519+ML-KEM-768 encapsulated key must be {EncLength} bytes, got {enc.Length}");
        }

        var ctX = enc[..X25519.KeySize];
        Span<byte> ssX = stackalloc byte[32];
        Span<byte> ssM = stackalloc byte[32];
        try
        {
            X25519.Agree(x25519PrivateKey, ctX, ssX);
            MlKem768.Decapsulate(mlKemPrivateKey, enc[X25519.KeySize..], ssM);
            return Combine(ssM, ssX, ctX, pkX);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ssX);
            CryptographicOperations.ZeroMemory(ssM);
        }
    }

    internal static byte[] Combine(ReadOnlySpan<byte> ssM, ReadOnlySpan<byte> ssX, ReadOnlySpan<byte> ctX, ReadOnlySpan<byte> pkX)
    {
        var digest = new Sha3Digest(256);
        digest.BlockUpdate(ssM);
        digest.BlockUpdate(ssX);
        digest.BlockUpdate(ctX);
        digest.BlockUpdate(pkX);
        digest.BlockUpdate(Label);
        var ss = new byte[SharedSecretLength];
        digest.DoFinal(ss);
        return ss;
    }
}
