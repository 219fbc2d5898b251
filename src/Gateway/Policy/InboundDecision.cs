using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Policy;

/// <summary>The inbound policy's answer for one received indicator.</summary>
internal sealed record InboundDecision
{
    /// <summary>Accept, quarantine or reject.</summary>
    public required InboundAction Action { get; init; }

    /// <summary>When not rejected: the adjusted copy (confidence scaled by trust weight, TLP raised to the floor).</summary>
    public Indicator? Indicator { get; init; }

    /// <summary>"accepted", "quarantined", or the rejection code: "invalid-indicator", "type-not-allowed", "relay-not-entitled".</summary>
    public required string Reason { get; init; }

    /// <summary>Human-readable detail for the audit log (which field, which limit).</summary>
    public string Detail { get; init; } = string.Empty;
}
