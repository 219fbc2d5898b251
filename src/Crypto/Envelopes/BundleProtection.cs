using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Crypto;

/// <summary>
/// The protection of an indicator bundle end to end (crypto.md §4-5): the origin signs the serialized bundle once
/// (<see cref="Sign"/>), every hop seals the signed bundle to its next recipient (<see cref="Seal"/>), and a receiver
/// opens the envelope (<see cref="Open"/>), reads the signed bundle (<see cref="TryRead"/>) and gets the bundle's
/// indicators only from <see cref="Verify"/>, after the origin's signature checked. Signing and sealing are separate
/// calls because they happen at different times: a bundle is signed when it is cut and stored signed in the outbox,
/// and sealed afresh on every send (a re-send after a reconnect or a key rotation gets new HPKE randomness and may go
/// to a new recipient key).
/// </summary>
public static class BundleProtection
{
    /// <summary>
    /// Signs <paramref name="bundleBytes"/> (a serialized <see cref="Bundle"/>) as its origin with
    /// <paramref name="key"/>: suite, signer key id and signature. The array is wrapped, not copied (bundles are up to a
    /// few hundred KB): the caller must not change it afterwards.
    /// </summary>
    public static SignedBundle Sign(byte[] bundleBytes, SigningKeyPair key)
    {
        ArgumentNullException.ThrowIfNull(bundleBytes);
        ArgumentNullException.ThrowIfNull(key);
        return new SignedBundle
        {
            Bundle = UnsafeByteOperations.UnsafeWrap(bundleBytes),
            Suite = key.Suite,
            SignerKeyId = UnsafeByteOperations.UnsafeWrap(key.PublicKey.KeyId),
            Signature = UnsafeByteOperations.UnsafeWrap(ContentSignatures.Sign(SignaturePurpose.Bundle, bundleBytes, key)),
        };
    }

    /// <summary>
    /// Seals a serialized signed payload (a <see cref="SignedBundle"/>, or a signed lifecycle message as
    /// <see cref="EnvelopeHeader.PayloadKind"/> says) to <paramref name="recipientKemKey"/>; see
    /// <see cref="EnvelopeCrypto.Seal"/> for what the caller sets in the header.
    /// </summary>
    public static Envelope Seal(EnvelopeHeader header, ReadOnlySpan<byte> signedPayload, ContentPublicKey recipientKemKey) =>
        EnvelopeCrypto.Seal(header, signedPayload, recipientKemKey);

    /// <summary>
    /// Opens an envelope with this node's KEM key: the authenticated header and the signed payload, not yet verified.
    /// Throws <see cref="System.Security.Cryptography.CryptographicException"/> when it does not open (tampered, or
    /// sealed to another key) and <see cref="CryptoFormatException"/> for a malformed envelope.
    /// </summary>
    public static EnvelopeOpenResult Open(Envelope envelope, KemKeyPair key) => EnvelopeCrypto.Open(envelope, key);

    /// <summary>The most indicators one bundle may hold (docs/protocol.md §4.1): senders cut bundles there, receivers refuse more.</summary>
    public const int MaxIndicators = 10_000;

    /// <summary>
    /// The largest <c>Bundle.max_hops</c> (docs/protocol.md §4.1): origins allow at most this many relays, receivers refuse
    /// more. Withdrawals and sighting reports follow the same paths back, and stop at the same number of hops.
    /// </summary>
    public const int MaxRelayHops = 8;

    /// <summary>Length of <c>Bundle.bundle_id</c> (docs/protocol.md §4.1): 16 random bytes; receivers refuse other lengths.</summary>
    public const int BundleIdSize = 16;

    /// <summary>
    /// Reads an opened payload as a signed bundle. Only the bundle's routing claims are readable before
    /// <see cref="Verify"/>; false with <paramref name="problem"/> when the bytes are not a signed bundle, it holds
    /// more than <see cref="MaxIndicators"/> indicators, its bundle id or signer key id has the wrong length, it has
    /// no created_at, or it allows more than <see cref="MaxRelayHops"/> relays.
    /// </summary>
    public static bool TryRead(byte[] plaintext, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UnverifiedBundle? bundle,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        try
        {
            var signed = SignedBundle.Parser.ParseFrom(plaintext);
            var content = Bundle.Parser.ParseFrom(signed.Bundle);
            problem = content.Indicators.Count > MaxIndicators ? $"the bundle holds {content.Indicators.Count} indicators, more than {MaxIndicators}"
                : content.BundleId.Length != BundleIdSize ? $"bundle_id is {content.BundleId.Length} bytes, not {BundleIdSize}"
                : signed.SignerKeyId.Length != ContentPublicKey.KeyIdSize ? $"signer_key_id is {signed.SignerKeyId.Length} bytes, not {ContentPublicKey.KeyIdSize}"
                : content.CreatedAt is null ? "created_at is missing"
                : content.MaxHops > MaxRelayHops ? $"max_hops is {content.MaxHops}, more than {MaxRelayHops}"
                : null;
            if (problem is not null)
            {
                // A bundle id of another length would still key loop prevention (origin, bundle_id): an empty one would
                // make every later bundle of that origin a silent duplicate. Refused here, as malformed-bundle.
                bundle = null;
                return false;
            }

            bundle = new UnverifiedBundle(signed, content);
            problem = null;
            return true;
        }
        catch (InvalidProtocolBufferException ex)
        {
            bundle = null;
            problem = ex.Message;
            return false;
        }
    }

    /// <summary>
    /// Checks the origin's signature over the bundle with <paramref name="originSigningKey"/> (the key the origin
    /// announced under the bundle's signer key id, found by the caller). Returns the verified bundle, or null with
    /// <paramref name="problem"/> when the key's suite is not the bundle's or the signature does not verify.
    /// </summary>
    public static VerifiedBundle? Verify(UnverifiedBundle bundle, ContentPublicKey originSigningKey, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(originSigningKey);
        var signed = bundle.Signed;
        if (originSigningKey.Algorithm is not (KeyAlgorithm.Ed25519 or KeyAlgorithm.Ed25519Mldsa65)
            || Suites.ForAlgorithm(originSigningKey.Algorithm) != signed.Suite)
        {
            problem = "the signature suite does not match the origin's key";
            return null;
        }

        if (!originSigningKey.HasKeyId(signed.SignerKeyId.Span))
        {
            problem = "the key given is not the one the bundle names as its signer";
            return null;
        }

        if (!ContentSignatures.Verify(SignaturePurpose.Bundle, signed.Bundle.Span, signed.Signature.Span, originSigningKey))
        {
            problem = "the origin's signature over the bundle does not verify";
            return null;
        }

        problem = null;
        return new VerifiedBundle(signed, bundle.Content);
    }
}
