namespace CyberCoop.Gateway.Inbound;

/// <summary>What happens to indicators a peer sends that pass the checks.</summary>
internal enum InboundMode
{
    /// <summary>Stored (merged) and eligible for relay.</summary>
    Accept = 0,

    /// <summary>Kept apart in the quarantine table for an operator; not merged, not relayed.</summary>
    Quarantine = 1,
}
