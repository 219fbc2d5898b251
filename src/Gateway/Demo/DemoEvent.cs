namespace CyberCoop.Gateway.Demo;

/// <summary>What kind of decision a line of the demo's feed shows.</summary>
internal enum DemoEventKind
{
    /// <summary>The demo moved on (starting, replaying, hostile moment, draining).</summary>
    Phase,

    /// <summary>A bundle left for a peer.</summary>
    Shared,

    /// <summary>Indicators held back by an outbound policy.</summary>
    Withheld,

    /// <summary>TLP:RED held back: it never leaves its country.</summary>
    RedKeptHome,

    /// <summary>A received bundle was relayed onwards with the origin's signature.</summary>
    Relayed,

    /// <summary>A received bundle was not relayed, and why.</summary>
    RelayRefused,

    /// <summary>Indicators accepted from a peer.</summary>
    Received,

    /// <summary>Indicators quarantined by an inbound policy.</summary>
    Quarantined,

    /// <summary>An agent's sighting failed validation.</summary>
    IngestRejected,

    /// <summary>An envelope or indicator refused by a receiver.</summary>
    Rejected,

    /// <summary>A caller refused at the TLS handshake or by authorization.</summary>
    Denied,

    /// <summary>The outcome of one of the demo's hostile attempts.</summary>
    Hostile,
}

/// <summary>One line of the demo's decision feed.</summary>
/// <param name="At">Time since the demo started.</param>
/// <param name="Nation">Code of the nation whose node decided ("EE"), or "--" for the demo itself.</param>
/// <param name="Kind">Kind of decision.</param>
/// <param name="Text">What happened and why.</param>
/// <param name="Source">Where it was read: the node's audit log ("audit"), an ack the demo received ("ack"), or the demo ("demo").</param>
internal sealed record DemoEvent(TimeSpan At, string Nation, DemoEventKind Kind, string Text, string Source);
