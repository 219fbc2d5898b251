using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>
/// Signatures with content signing keys over <c>context || 0x00 || message</c>.
/// Classical: Ed25519 (64 bytes). Hybrid: Ed25519 signature (64 bytes) followed by the ML-DSA-65 signature
/// (3309 bytes); both must verify.
/// </summary>
public static class ContentSignatures
{
    /// <summary>Signs <paramref name="message"/> for <paramref name="purpose"/>.</summary>
    public static byte[] Sign(SignaturePurpose purpose, ReadOnlySpan<byte> message, SigningKeyPair key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var framed = SignatureContexts.Frame(purpose, message);
        return key.SignFramed(framed);
    }

    /// <summary>
    /// Verifies; false (never an exception) for a wrong signature, wrong length or wrong purpose.
    /// Throws <see cref="KeyFormatException"/> only when <paramref name="key"/> is not a signing key.
    /// </summary>
    public static bool Verify(SignaturePurpose purpose, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature, ContentPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var expected = SignatureLength(key.Algorithm);
        var framed = SignatureContexts.Frame(purpose, message);
        if (signature.Length != expected)
        {
            return false;
        }

        var classicalOk = Ed25519.Verify(key.Ed25519Parameters, framed, signature[..Ed25519.SignatureSize]);
        if (key.Algorithm == KeyAlgorithm.Ed25519)
        {
            return classicalOk;
        }

        // Both halves are always checked (no early exit on the first failure).
        var pqOk = MlDsa65.Verify(key.MlDsaParameters!, framed, signature[Ed25519.SignatureSize..]);
        return classicalOk & pqOk;
    }

    /// <summary>Signature length for a signing key algorithm.</summary>
    public static int SignatureLength(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.Ed25519 => Ed25519.SignatureSize,
        KeyAlgorithm.Ed25519Mldsa65 => Ed25519.SignatureSize + MlDsa65.SignatureSize,
        _ => throw new KeyFormatException($"{ContentPublicKey.Name(algorithm)} key cannot verify signatures"),
    };
}
