using System.Security.Cryptography;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>
/// Signatures with content signing keys (protocol v2 construction, crypto.md §4). The message is hashed once with
/// SHA-512 (the platform's, OpenSSL), and the 64-byte digest is signed under the purpose's context string
/// (<see cref="SignatureContexts"/>): classical = Ed25519ph (RFC 8032, context = the purpose's context), 64 bytes;
/// hybrid = that Ed25519ph signature followed by ML-DSA-65 (FIPS 204, pure, <c>ctx</c> = the purpose's context) over
/// the same digest, 3309 bytes; both must verify. Only content purposes (bundles, receipts, audit checkpoints) are
/// signed this way; key announcements and trust bundles are <see cref="IdentitySignatures"/>.
/// </summary>
public static class ContentSignatures
{
    /// <summary>Size of the digest that is signed: SHA-512.</summary>
    private const int DigestSize = SHA512.HashSizeInBytes;

    /// <summary>
    /// Signs <paramref name="message"/> for <paramref name="purpose"/>. Throws <see cref="ArgumentException"/> for a
    /// purpose that is not signed with content keys, <see cref="ArgumentOutOfRangeException"/> for an unknown one.
    /// </summary>
    public static byte[] Sign(SignaturePurpose purpose, ReadOnlySpan<byte> message, SigningKeyPair key) => Sign(purpose, message, key, deterministic: false);

    /// <summary>
    /// <see cref="Sign(SignaturePurpose, ReadOnlySpan{byte}, SigningKeyPair)"/> with the ML-DSA-65 half in FIPS 204's
    /// deterministic variant (Ed25519ph is deterministic anyway): for the published known-answer envelopes only.
    /// </summary>
    internal static byte[] Sign(SignaturePurpose purpose, ReadOnlySpan<byte> message, SigningKeyPair key, bool deterministic)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!SignatureContexts.IsContentPurpose(purpose))
        {
            throw new ArgumentException($"{purpose} is signed with an identity key (IdentitySignatures), not a content key", nameof(purpose));
        }

        Span<byte> digest = stackalloc byte[DigestSize];
        SHA512.HashData(message, digest);
        return key.SignDigest(SignatureContexts.ArrayFor(purpose), digest, deterministic);
    }

    /// <summary>
    /// Verifies; false (never an exception) for a wrong signature, wrong length or wrong purpose (also for a purpose
    /// that is not signed with content keys). Throws <see cref="KeyFormatException"/> only when
    /// <paramref name="key"/> is not a signing key, <see cref="ArgumentOutOfRangeException"/> for an unknown purpose.
    /// </summary>
    public static bool Verify(SignaturePurpose purpose, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature, ContentPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var expected = SignatureLength(key.Algorithm);
        if (!SignatureContexts.IsContentPurpose(purpose) || signature.Length != expected)
        {
            return false;
        }

        var context = SignatureContexts.ArrayFor(purpose);
        Span<byte> digest = stackalloc byte[DigestSize];
        SHA512.HashData(message, digest);
        var classicalOk = Ed25519.VerifyPrehash(key.Ed25519Parameters, context, digest, signature[..Ed25519.SignatureSize]);
        if (key.Algorithm == KeyAlgorithm.Ed25519)
        {
            return classicalOk;
        }

        // Both halves are always checked (no early exit on the first failure).
        var pqOk = MlDsa65.Verify(key.MlDsaParameters!, context, digest, signature[Ed25519.SignatureSize..]);
        return classicalOk & pqOk;
    }

    /// <summary>
    /// Verifies an audit checkpoint signed before protocol v2, with the v1 construction: pure Ed25519 (and, for a
    /// hybrid key, pure ML-DSA-65 with an empty <c>ctx</c>) over <c>"cybercoop/v1/audit-checkpoint" || 0x00 ||
    /// message</c>. Only for checkpoints already stored in audit logs (<c>audit verify</c>); nothing on the wire is
    /// checked this way. False for any other signature, including a v2 one.
    /// </summary>
    public static bool VerifyLegacyAuditCheckpoint(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature, ContentPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (signature.Length != SignatureLength(key.Algorithm))
        {
            return false;
        }

        var framed = SignatureContexts.Frame(System.Text.Encoding.ASCII.GetBytes(SignatureContexts.AuditCheckpointV1), message);
        var classicalOk = Ed25519.Verify(key.Ed25519Parameters, framed, signature[..Ed25519.SignatureSize]);
        if (key.Algorithm == KeyAlgorithm.Ed25519)
        {
            return classicalOk;
        }

        var pqOk = MlDsa65.Verify(key.MlDsaParameters!, [], framed, signature[Ed25519.SignatureSize..]);
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
