using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace CyberCoop.Crypto;

/// <summary>Stateless ML-DSA-65 (FIPS 204, pure, hedged signing, empty context) over BouncyCastle.</summary>
internal static class MlDsa65
{
    public const int PublicKeySize = 1952;
    public const int SignatureSize = 3309;
    public const int SeedSize = 32;

    public static MLDsaParameters Parameters => MLDsaParameters.ml_dsa_65;

    public static byte[] GenerateSeed() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(SeedSize);

    public static MLDsaPrivateKeyParameters PrivateKeyFromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new KeyFormatException($"ML-DSA-65 seed must be {SeedSize} bytes, got {seed.Length}");
        }

        return MLDsaPrivateKeyParameters.FromSeed(Parameters, seed.ToArray());
    }

    public static MLDsaPublicKeyParameters PublicKey(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != PublicKeySize)
        {
            throw new KeyFormatException($"ML-DSA-65 public key must be {PublicKeySize} bytes, got {encoded.Length}");
        }

        try
        {
            return MLDsaPublicKeyParameters.FromEncoding(Parameters, encoded.ToArray());
        }
        catch (ArgumentException ex)
        {
            throw new KeyFormatException("ML-DSA-65 public key is invalid: " + ex.Message, ex);
        }
    }

    public static byte[] Sign(MLDsaPrivateKeyParameters key, ReadOnlySpan<byte> message)
    {
        var signer = new MLDsaSigner(Parameters, deterministic: false);
        signer.Init(true, new ParametersWithRandom(key, BcRandom.Instance));
        signer.BlockUpdate(message);
        return signer.GenerateSignature();
    }

    public static bool Verify(MLDsaPublicKeyParameters key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize)
        {
            return false;
        }

        var verifier = new MLDsaSigner(Parameters, deterministic: false);
        verifier.Init(false, key);
        verifier.BlockUpdate(message);
        return verifier.VerifySignature(signature.ToArray());
    }
}
