namespace CyberCoop.Gateway.Policy;

/// <summary>How a received bundle reached this node, for the relay entitlement check.</summary>
internal sealed record RelayContext
{
    /// <summary>Envelope hop_count: gateways the content passed through before this hop (0 = straight from the origin).</summary>
    public required int HopCount { get; init; }

    /// <summary>The origin's Bundle.relay_allowed.</summary>
    public required bool BundleRelayAllowed { get; init; }

    /// <summary>SPIFFE id of the origin gateway (Bundle.origin).</summary>
    public required string Origin { get; init; }

    /// <summary>SPIFFE id of the gateway that delivered the envelope (mTLS identity).</summary>
    public required string Sender { get; init; }

    /// <summary>The origin's Bundle.max_hops when known; a relayed delivery beyond it is refused. Null = not checked.</summary>
    public int? MaxHops { get; init; }
}
