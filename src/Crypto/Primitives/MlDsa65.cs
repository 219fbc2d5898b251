using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace CyberCoop.Crypto;

/// <summary>
/// Stateless ML-DSA-65 (FIPS 204 <c>ML-DSA.Sign</c>/<c>ML-DSA.Verify</c>, pure mode, hedged signing) over
/// BouncyCastle, with the FIPS 204 context string <c>ctx</c> (0-255 bytes; empty in the v1 construction).
/// </summary>
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

    /// <summary>Largest FIPS 204 context string.</summary>
    public const int MaxContextSize = 255;

    public static byte[] Sign(MLDsaPrivateKeyParameters key, byte[] context, ReadOnlySpan<byte> message, bool deterministic = false)
    {
        RequireContext(context);
        // Hedged (fresh randomness per signature) in production; the FIPS 204 deterministic variant (rnd = 0^32) only
        // for the published known-answer envelopes. Both verify the same way.
        var signer = new MLDsaSigner(Parameters, deterministic);
        signer.Init(true, deterministic
            ? new ParametersWithContext(key, context)
            : new ParametersWithContext(new ParametersWithRandom(key, BcRandom.Instance), context));
        signer.BlockUpdate(message);
        return signer.GenerateSignature();
    }

    public static bool Verify(MLDsaPublicKeyParameters key, byte[] context, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        RequireContext(context);
        if (signature.Length != SignatureSize)
        {
            return false;
        }

        var verifier = new MLDsaSigner(Parameters, deterministic: false);
        verifier.Init(false, new ParametersWithContext(key, context));
        verifier.BlockUpdate(message);
        return verifier.VerifySignature(signature.ToArray());
    }

    private static void RequireContext(byte[] context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Length > MaxContextSize)
        {
            throw new ArgumentException($"ML-DSA context must be at most {MaxContextSize} bytes, got {context.Length}", nameof(context));
        }
    }
}
