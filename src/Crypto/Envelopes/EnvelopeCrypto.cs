using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Org.BouncyCastle.Security;

namespace CyberCoop.Crypto;

/// <summary>
/// Sealing and opening of the end-to-end envelope. The header is serialized once; those exact bytes are
/// carried in <see cref="Envelope.Header"/> and are the HPKE AAD, so any changed bit fails to open.
/// The HPKE info string is fixed per suite (<see cref="InfoFor"/>), and the KEM id enters the HPKE suite_id,
/// so an envelope sealed under one suite can never be opened under another.
/// </summary>
public static class EnvelopeCrypto
{
    /// <summary>Envelope format version handled here.</summary>
    public const uint CurrentVersion = 1;

    /// <summary>Length of envelope ids.</summary>
    public const int EnvelopeIdLength = 16;

    /// <summary>HPKE info for <see cref="Suite.X25519Aes256GcmEd25519"/>.</summary>
    public const string InfoClassical = "cybercoop/v1/envelope/x25519-aes256gcm";

    /// <summary>HPKE info for <see cref="Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65"/>.</summary>
    public const string InfoHybrid = "cybercoop/v1/envelope/x25519mlkem768-aes256gcm";

    /// <summary>HPKE info bytes of a suite.</summary>
    public static ReadOnlySpan<byte> InfoFor(Suite suite) => Suites.HpkeInfo(suite);

    /// <summary>Length of the encapsulated key for a suite.</summary>
    public static int EncapsulatedKeyLength(Suite suite) => Suites.EncapsulatedKeyLength(suite);

    /// <summary>
    /// Seals <paramref name="plaintext"/> to <paramref name="recipientKemKey"/>. The caller sets sender,
    /// recipient, sent_at and hop_count (version defaults to 1, envelope_id to 16 random bytes); this sets
    /// suite, recipient_key_id and encapsulated_key. <paramref name="header"/> itself is not modified.
    /// </summary>
    public static Envelope Seal(EnvelopeHeader header, ReadOnlySpan<byte> plaintext, ContentPublicKey recipientKemKey)
    {
        var sealedHeader = PrepareHeader(header, recipientKemKey);
        using var context = Hpke.SetupBaseSender(recipientKemKey, InfoFor(sealedHeader.Suite), out var enc, HpkeAead.Aes256Gcm);
        return Finish(sealedHeader, enc, context, plaintext);
    }

    /// <summary>
    /// <see cref="Seal"/> with the sender's HPKE randomness supplied (X25519 ephemeral scalar; ML-KEM's m for the hybrid
    /// suite): the published known-answer envelopes (docs/protocol.md Appendix A) are made with it. Never for traffic.
    /// </summary>
    internal static Envelope SealDeterministic(EnvelopeHeader header, ReadOnlySpan<byte> plaintext, ContentPublicKey recipientKemKey,
        ReadOnlySpan<byte> ephemeralX25519, SecureRandom? mlKemRandom)
    {
        var sealedHeader = PrepareHeader(header, recipientKemKey);
        using var context = Hpke.SetupBaseSenderDeterministic(recipientKemKey, ephemeralX25519, mlKemRandom, InfoFor(sealedHeader.Suite), out var enc, HpkeAead.Aes256Gcm);
        return Finish(sealedHeader, enc, context, plaintext);
    }

    private static EnvelopeHeader PrepareHeader(EnvelopeHeader header, ContentPublicKey recipientKemKey)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(recipientKemKey);
        if (recipientKemKey.Algorithm is not (KeyAlgorithm.X25519 or KeyAlgorithm.X25519Mlkem768))
        {
            throw new ArgumentException($"{recipientKemKey} is not a KEM key; envelopes are sealed to X25519 or X25519+ML-KEM-768 keys", nameof(recipientKemKey));
        }

        var sealedHeader = header.Clone();
        if (sealedHeader.Version == 0)
        {
            sealedHeader.Version = CurrentVersion;
        }
        else if (sealedHeader.Version != CurrentVersion)
        {
            throw new ArgumentException($"envelope version {sealedHeader.Version} is not supported (this build writes version {CurrentVersion})", nameof(header));
        }

        if (sealedHeader.EnvelopeId.IsEmpty)
        {
            sealedHeader.EnvelopeId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(EnvelopeIdLength));
        }
        else if (sealedHeader.EnvelopeId.Length != EnvelopeIdLength)
        {
            throw new ArgumentException($"envelope_id must be {EnvelopeIdLength} bytes, got {sealedHeader.EnvelopeId.Length}", nameof(header));
        }

        sealedHeader.Suite = recipientKemKey.Suite;
        sealedHeader.RecipientKeyId = ByteString.CopyFrom(recipientKemKey.KeyIdSpan);
        return sealedHeader;
    }

    private static Envelope Finish(EnvelopeHeader sealedHeader, byte[] enc, HpkeContext context, ReadOnlySpan<byte> plaintext)
    {
        sealedHeader.EncapsulatedKey = ByteString.CopyFrom(enc);
        var headerBytes = sealedHeader.ToByteArray();
        var ciphertext = context.Seal(headerBytes, plaintext);
        // Both arrays are fresh, owned here and never written again: wrap them instead of copying (the ciphertext
        // is as large as the bundle, ~300 KB for 1,000 indicators).
        return new Envelope
        {
            Header = UnsafeByteOperations.UnsafeWrap(headerBytes),
            Ciphertext = UnsafeByteOperations.UnsafeWrap(ciphertext),
        };
    }

    /// <summary>
    /// Parses and checks the header (not yet authenticated: use it for routing and key lookup only).
    /// Throws <see cref="EnvelopeFormatException"/> naming the problem.
    /// </summary>
    public static EnvelopeHeader ParseHeader(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Header.IsEmpty)
        {
            throw new EnvelopeFormatException("envelope header is empty");
        }

        EnvelopeHeader header;
        try
        {
            header = EnvelopeHeader.Parser.ParseFrom(envelope.Header);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new EnvelopeFormatException("envelope header is truncated or not a valid EnvelopeHeader: " + ex.Message, ex);
        }

        if (header.Version != CurrentVersion)
        {
            throw new EnvelopeFormatException($"unknown envelope version {header.Version} (this build reads version {CurrentVersion})");
        }

        if (!Suites.IsSupported(header.Suite))
        {
            throw new EnvelopeFormatException($"unknown or unsupported suite {(int)header.Suite}");
        }

        if (header.EnvelopeId.Length != EnvelopeIdLength)
        {
            throw new EnvelopeFormatException($"envelope_id must be {EnvelopeIdLength} bytes, got {header.EnvelopeId.Length}");
        }

        if (header.RecipientKeyId.Length != ContentPublicKey.KeyIdSize)
        {
            throw new EnvelopeFormatException($"recipient_key_id must be {ContentPublicKey.KeyIdSize} bytes, got {header.RecipientKeyId.Length}");
        }

        var encLength = EncapsulatedKeyLength(header.Suite);
        if (header.EncapsulatedKey.Length != encLength)
        {
            throw new EnvelopeFormatException($"encapsulated_key for suite {(int)header.Suite} must be {encLength} bytes, got {header.EncapsulatedKey.Length}");
        }

        if (envelope.Ciphertext.Length < 16)
        {
            throw new EnvelopeFormatException($"ciphertext is {envelope.Ciphertext.Length} bytes, shorter than the 16-byte AEAD tag");
        }

        return header;
    }

    /// <summary>
    /// Opens an envelope with <paramref name="recipient"/>. Checks that the header's suite is the key's suite
    /// and the key id is the key's id (<see cref="EnvelopeKeyMismatchException"/> otherwise), then decrypts with
    /// the exact header bytes as AAD. Throws <see cref="EnvelopeFormatException"/> for malformed envelopes and
    /// <see cref="CryptographicException"/> when authentication fails; never returns partial plaintext.
    /// </summary>
    public static EnvelopeOpenResult Open(Envelope envelope, KemKeyPair recipient)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var header = ParseHeader(envelope);
        if (header.Suite != recipient.Suite)
        {
            throw new EnvelopeKeyMismatchException($"envelope is sealed under suite {(int)header.Suite} but the key is for suite {(int)recipient.Suite}");
        }

        if (!recipient.PublicKey.HasKeyId(header.RecipientKeyId.Span))
        {
            throw new EnvelopeKeyMismatchException($"envelope is sealed to key {Convert.ToHexStringLower(header.RecipientKeyId.Span)}, not to {recipient.PublicKey.KeyIdHex}");
        }

        using var context = Hpke.SetupBaseRecipient(recipient, header.EncapsulatedKey.Span, InfoFor(header.Suite), HpkeAead.Aes256Gcm);
        var plaintext = context.Open(envelope.Header.Span, envelope.Ciphertext.Span);
        return new EnvelopeOpenResult(header, plaintext);
    }
}
