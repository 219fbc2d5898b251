using System.Text;

namespace CyberCoop.Crypto;

/// <summary>
/// Domain-separation context strings, one per purpose, never empty and never containing 0x00, so a signature
/// made for one purpose never verifies for another. Content signatures (<see cref="ContentSignatures"/>: bundles,
/// receipts, audit checkpoints, withdrawals, sighting reports) pass the context to Ed25519ph and ML-DSA-65 as their context parameter and sign a
/// SHA-512 digest of the message (protocol v2 construction, <c>cybercoop/v2/...</c>); identity signatures
/// (<see cref="IdentitySignatures"/>: key announcements, trust bundles) sign <c>context || 0x00 || message</c>
/// with ECDSA P-256 (<c>cybercoop/v1/...</c>, unchanged).
/// </summary>
public static class SignatureContexts
{
    /// <summary>Context for <see cref="SignaturePurpose.Bundle"/> (content signature, v2 construction).</summary>
    public const string Bundle = "cybercoop/v2/bundle-signature";

    /// <summary>Context for <see cref="SignaturePurpose.Receipt"/> (content signature, v2 construction).</summary>
    public const string Receipt = "cybercoop/v2/receipt";

    /// <summary>Context for <see cref="SignaturePurpose.KeyAnnouncement"/> (identity signature).</summary>
    public const string KeyAnnouncement = "cybercoop/v1/key-announcement";

    /// <summary>Context for <see cref="SignaturePurpose.TrustBundle"/> (identity signature).</summary>
    public const string TrustBundle = "cybercoop/v1/trust-bundle";

    /// <summary>Context for <see cref="SignaturePurpose.AuditCheckpoint"/> (content signature, v2 construction).</summary>
    public const string AuditCheckpoint = "cybercoop/v2/audit-checkpoint";

    /// <summary>Context for <see cref="SignaturePurpose.Withdrawal"/> (content signature, v2 construction).</summary>
    public const string Withdrawal = "cybercoop/v2/withdrawal";

    /// <summary>Context for <see cref="SignaturePurpose.SightingReport"/> (content signature, v2 construction).</summary>
    public const string SightingReport = "cybercoop/v2/sighting-report";

    /// <summary>
    /// Context of audit checkpoints signed with the v1 construction (pure Ed25519 over
    /// <c>context || 0x00 || message</c>); only <see cref="ContentSignatures.VerifyLegacyAuditCheckpoint"/> uses it.
    /// </summary>
    internal const string AuditCheckpointV1 = "cybercoop/v1/audit-checkpoint";

    private static readonly byte[] s_bundle = Encoding.ASCII.GetBytes(Bundle);
    private static readonly byte[] s_receipt = Encoding.ASCII.GetBytes(Receipt);
    private static readonly byte[] s_keyAnnouncement = Encoding.ASCII.GetBytes(KeyAnnouncement);
    private static readonly byte[] s_trustBundle = Encoding.ASCII.GetBytes(TrustBundle);
    private static readonly byte[] s_auditCheckpoint = Encoding.ASCII.GetBytes(AuditCheckpoint);
    private static readonly byte[] s_withdrawal = Encoding.ASCII.GetBytes(Withdrawal);
    private static readonly byte[] s_sightingReport = Encoding.ASCII.GetBytes(SightingReport);

    /// <summary>The context string of a purpose.</summary>
    public static string For(SignaturePurpose purpose) => purpose switch
    {
        SignaturePurpose.Bundle => Bundle,
        SignaturePurpose.Receipt => Receipt,
        SignaturePurpose.KeyAnnouncement => KeyAnnouncement,
        SignaturePurpose.TrustBundle => TrustBundle,
        SignaturePurpose.AuditCheckpoint => AuditCheckpoint,
        SignaturePurpose.Withdrawal => Withdrawal,
        SignaturePurpose.SightingReport => SightingReport,
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, "unknown signature purpose"),
    };

    /// <summary>The ASCII bytes of a purpose's context string.</summary>
    public static ReadOnlySpan<byte> BytesFor(SignaturePurpose purpose) => ArrayFor(purpose);

    /// <summary>True for the purposes signed with content keys (<see cref="ContentSignatures"/>).</summary>
    public static bool IsContentPurpose(SignaturePurpose purpose) => purpose switch
    {
        SignaturePurpose.Bundle or SignaturePurpose.Receipt or SignaturePurpose.AuditCheckpoint
            or SignaturePurpose.Withdrawal or SignaturePurpose.SightingReport => true,
        SignaturePurpose.KeyAnnouncement or SignaturePurpose.TrustBundle => false,
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, "unknown signature purpose"),
    };

    /// <summary>The exact bytes an identity signature signs: <c>context || 0x00 || message</c>.</summary>
    public static byte[] Frame(SignaturePurpose purpose, ReadOnlySpan<byte> message) => Frame(BytesFor(purpose), message);

    /// <summary>The exact bytes an identity signature signs: <c>context || 0x00 || message</c>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> context, ReadOnlySpan<byte> message)
    {
        if (context.IsEmpty)
        {
            throw new ArgumentException("signature context must not be empty", nameof(context));
        }

        if (context.Contains((byte)0))
        {
            throw new ArgumentException("signature context must not contain a zero byte", nameof(context));
        }

        var framed = new byte[context.Length + 1 + message.Length];
        context.CopyTo(framed);
        message.CopyTo(framed.AsSpan(context.Length + 1));
        return framed;
    }

    /// <summary>The shared (never modified) array of a purpose's context, for APIs that take <c>byte[]</c>.</summary>
    internal static byte[] ArrayFor(SignaturePurpose purpose) => purpose switch
    {
        SignaturePurpose.Bundle => s_bundle,
        SignaturePurpose.Receipt => s_receipt,
        SignaturePurpose.KeyAnnouncement => s_keyAnnouncement,
        SignaturePurpose.TrustBundle => s_trustBundle,
        SignaturePurpose.AuditCheckpoint => s_auditCheckpoint,
        SignaturePurpose.Withdrawal => s_withdrawal,
        SignaturePurpose.SightingReport => s_sightingReport,
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, "unknown signature purpose"),
    };
}
