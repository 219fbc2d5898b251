namespace CyberCoop.Gateway.Inbound;

/// <summary>The inbound policy's verdict for one received indicator.</summary>
internal enum InboundAction
{
    /// <summary>Store (merge) the adjusted indicator.</summary>
    Accept = 0,

    /// <summary>Keep the adjusted indicator in quarantine.</summary>
    Quarantine = 1,

    /// <summary>Drop it; the reason says why.</summary>
    Reject = 2,
}
