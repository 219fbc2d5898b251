using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Crypto;

/// <summary>
/// A signed bundle read from an opened envelope whose signature has not been checked: its routing claims (origin,
/// first recipient, relay rules, creation time, signer) decide which key verifies it and whether it may arrive by this
/// path at all; its indicators are reachable only through <see cref="BundleProtection.Verify"/>.
/// </summary>
public sealed class UnverifiedBundle
{
    internal UnverifiedBundle(SignedBundle signed, Bundle content)
    {
        Signed = signed;
        Content = content;
    }

    /// <summary>The signed bundle as received.</summary>
    public SignedBundle Signed { get; }

    /// <summary>The origin's SPIFFE id as claimed.</summary>
    public string Origin => Content.Origin;

    /// <summary>The bundle id as claimed.</summary>
    public ByteString BundleId => Content.BundleId;

    /// <summary>Creation time as claimed (null when absent).</summary>
    public Google.Protobuf.WellKnownTypes.Timestamp? CreatedAt => Content.CreatedAt;

    /// <summary>The gateway the origin addressed the bundle to.</summary>
    public string FirstRecipient => Content.FirstRecipient;

    /// <summary>Whether the origin allowed relaying.</summary>
    public bool RelayAllowed => Content.RelayAllowed;

    /// <summary>The origin's hop limit.</summary>
    public uint MaxHops => Content.MaxHops;

    internal Bundle Content { get; }
}
