using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace CyberCoop.Crypto;

/// <summary>Stateless ML-KEM-768 (FIPS 203) over BouncyCastle; a fresh encapsulator/decapsulator per operation.</summary>
internal static class MlKem768
{
    public const int PublicKeySize = 1184;
    public const int CiphertextSize = 1088;
    public const int SharedSecretSize = 32;
    public const int SeedSize = 64;
    private const int Q = 3329;

    public static MLKemParameters Parameters => MLKemParameters.ml_kem_768;

    public static byte[] GenerateSeed() => RandomNumberGenerator.GetBytes(SeedSize);

    public static MLKemPrivateKeyParameters PrivateKeyFromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new KeyFormatException($"ML-KEM-768 seed must be {SeedSize} bytes (d || z), got {seed.Length}");
        }

        return MLKemPrivateKeyParameters.FromSeed(Parameters, seed.ToArray());
    }

    public static MLKemPublicKeyParameters PublicKey(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != PublicKeySize)
        {
            throw new KeyFormatException($"ML-KEM-768 encapsulation key must be {PublicKeySize} bytes, got {encoded.Length}");
        }

        // FIPS 203 §7.2 encapsulation key check: every 12-bit coefficient of t (the first 3 x 384 bytes) is < q.
        var t = encoded[..(PublicKeySize - 32)];
        for (var i = 0; i < t.Length; i += 3)
        {
            var a = t[i] | ((t[i + 1] & 0x0F) << 8);
            var b = (t[i + 1] >> 4) | (t[i + 2] << 4);
            if (a >= Q || b >= Q)
            {
                throw new KeyFormatException($"ML-KEM-768 encapsulation key is invalid: coefficient {(a >= Q ? a : b)} at byte {i} is not reduced modulo {Q}");
            }
        }

        try
        {
            return MLKemPublicKeyParameters.FromEncoding(Parameters, encoded.ToArray());
        }
        catch (ArgumentException ex)
        {
            throw new KeyFormatException("ML-KEM-768 encapsulation key is invalid: " + ex.Message, ex);
        }
    }

    public static void Encapsulate(MLKemPublicKeyParameters publicKey, Span<byte> ciphertext, Span<byte> sharedSecret, SecureRandom? random = null)
    {
        var encapsulator = new MLKemEncapsulator(Parameters);
        encapsulator.Init(new ParametersWithRandom(publicKey, random ?? BcRandom.Instance));
        encapsulator.Encapsulate(ciphertext, sharedSecret);
    }

    public static void Decapsulate(MLKemPrivateKeyParameters privateKey, ReadOnlySpan<byte> ciphertext, Span<byte> sharedSecret)
    {
        if (ciphertext.Length != CiphertextSize)
        {
            throw new KeyFormatException($"ML-KEM-768 ciphertext must be {CiphertextSize} bytes, got {ciphertext.Length}");
        }

        var decapsulator = new MLKemDecapsulator(Parameters);
        decapsulator.Init(privateKey);
        decapsulator.Decapsulate(ciphertext, sharedSecret);
    }
}
