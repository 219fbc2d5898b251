using System.Text;

namespace CyberCoop.Crypto;

/// <summary>
/// Domain-separation context strings. Every signature in CyberCoop is over
/// <c>context (ASCII) || 0x00 || message</c>, so a signature made for one purpose never verifies for another.
/// </summary>
public static class SignatureContexts
{
    /// <summary>Context for <see cref="SignaturePurpose.Bundle"/>.</summary>
    public const string Bundle = "cybercoop/v1/bundle-signature";

    /// <summary>Context for <see cref="SignaturePurpose.Receipt"/>.</summary>
    public const string Receipt = "cybercoop/v1/receipt";

    /// <summary>Context for <see cref="SignaturePurpose.KeyAnnouncement"/>.</summary>
    public const string KeyAnnouncement = "cybercoop/v1/key-announcement";

    /// <summary>Context for <see cref="SignaturePurpose.TrustBundle"/>.</summary>
    public const string TrustBundle = "cybercoop/v1/trust-bundle";

    /// <summary>Context for <see cref="SignaturePurpose.AuditCheckpoint"/>.</summary>
    public const string AuditCheckpoint = "cybercoop/v1/audit-checkpoint";

    private static readonly byte[] s_bundle = Encoding.ASCII.GetBytes(Bundle);
    private static readonly byte[] s_receipt = Encoding.ASCII.GetBytes(Receipt);
    private static readonly byte[] s_keyAnnouncement = Encoding.ASCII.GetBytes(KeyAnnouncement);
    private static readonly byte[] s_trustBundle = Encoding.ASCII.GetBytes(TrustBundle);
    private static readonly byte[] s_auditCheckpoint = Encoding.ASCII.GetBytes(AuditCheckpoint);

    /// <summary>The context string of a purpose.</summary>
    public static string For(SignaturePurpose purpose) => purpose switch
    {
        SignaturePurpose.Bundle => Bundle,
        SignaturePurpose.Receipt => Receipt,
        SignaturePurpose.KeyAnnouncement => KeyAnnouncement,
        SignaturePurpose.TrustBundle => TrustBundle,
        SignaturePurpose.AuditCheckpoint => AuditCheckpoint,
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, "unknown signature purpose"),
    };

    /// <summary>The ASCII bytes of a purpose's context string.</summary>
    public static ReadOnlySpan<byte> BytesFor(SignaturePurpose purpose) => purpose switch
    {
        SignaturePurpose.Bundle => s_bundle,
        SignaturePurpose.Receipt => s_receipt,
        SignaturePurpose.KeyAnnouncement => s_keyAnnouncement,
        SignaturePurpose.TrustBundle => s_trustBundle,
        SignaturePurpose.AuditCheckpoint => s_auditCheckpoint,
        _ => throw new ArgumentOutOfRangeException(nameof(purpose), purpose, "unknown signature purpose"),
    };

    /// <summary>The exact bytes that are signed: <c>context || 0x00 || message</c>.</summary>
    public static byte[] Frame(SignaturePurpose purpose, ReadOnlySpan<byte> message) => Frame(BytesFor(purpose), message);

    /// <summary>The exact bytes that are signed: <c>context || 0x00 || message</c>.</summary>
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
}
