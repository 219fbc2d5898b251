using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>
/// A root-signed trust bundle whose signatures and contents were checked by <see cref="TrustBundleVerifier"/>:
/// what a domain says about itself (roots, revoked serials, sequence, expiry), and the bytes it came in.
/// </summary>
public sealed record VerifiedTrustBundle
{
    /// <summary>The signed bundle exactly as received or read (key announcements included).</summary>
    public required SignedTrustBundle Signed { get; init; }

    /// <summary>The parsed signed part.</summary>
    public required TrustBundle Bundle { get; init; }

    /// <summary>The domain's roots listed in the bundle (public certificates).</summary>
    public required IReadOnlyList<X509Certificate2> Roots { get; init; }

    /// <summary>SPKI pins of <see cref="Roots"/>, same order.</summary>
    public required IReadOnlyList<string> RootPins { get; init; }

    /// <summary>Pins of the roots whose signatures over the bundle verified.</summary>
    public required IReadOnlyList<string> SignerPins { get; init; }

    /// <summary>Revoked serials, upper-case hex without separators.</summary>
    public required IReadOnlyList<string> RevokedSerials { get; init; }

    /// <summary>Trust domain the bundle describes.</summary>
    public string TrustDomain => Bundle.TrustDomain;

    /// <summary>Sequence number.</summary>
    public ulong Sequence => Bundle.Sequence;

    /// <summary>When it was signed.</summary>
    public DateTimeOffset IssuedAt => Bundle.IssuedAt.ToDateTimeOffset();

    /// <summary>Until when receivers may rely on it.</summary>
    public DateTimeOffset ExpiresAt => Bundle.ExpiresAt.ToDateTimeOffset();

    /// <summary>Refresh interval the domain asks for.</summary>
    public TimeSpan RefreshHint => TimeSpan.FromSeconds(Bundle.RefreshHintSeconds);

    /// <summary>Whether the signed part is byte-for-byte the same as <paramref name="other"/>'s.</summary>
    public bool SameSignedPart(VerifiedTrustBundle other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Signed.Bundle.Span.SequenceEqual(other.Signed.Bundle.Span);
    }
}
