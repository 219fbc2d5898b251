using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Inbound;

/// <summary>The inbound policy's answer for one received indicator.</summary>
internal sealed record InboundDecision
{
    /// <summary>Accept, quarantine or reject.</summary>
    public required InboundAction Action { get; init; }

    /// <summary>
    /// When not rejected: the indicator as accepted, confidence scaled by trust weight and TLP raised to the floor; a copy
    /// when that changes anything, else the evaluated instance itself (callers must not modify it).
    /// </summary>
    public Indicator? Indicator { get; init; }

    /// <summary>"accepted", "quarantined", or the rejection code: "invalid-indicator", "type-not-allowed", "relay-not-entitled".</summary>
    public required string Reason { get; init; }

    /// <summary>Human-readable detail for the audit log (which field, which limit).</summary>
    public string Detail { get; init; } = string.Empty;
}
