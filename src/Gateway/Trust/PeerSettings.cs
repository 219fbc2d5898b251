using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Trust;

/// <summary>A configured peer, resolved from the config file: parsed id, pinned root, policies.</summary>
internal sealed record PeerSettings(
    SpiffeId Id,
    Uri Address,
    X509Certificate2 Root,
    string RootPin,
    Suite? PinnedSuite,
    OutboundPolicy Outbound,
    InboundPolicy Inbound)
{
    /// <summary>The peer's id as text.</summary>
    public string IdText { get; } = Id.ToString();

    /// <summary>True when the settings that matter for an open stream are unchanged.</summary>
    public bool SameConnection(PeerSettings other) =>
        other.Address == Address && other.RootPin == RootPin && other.PinnedSuite == PinnedSuite;
}
