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
