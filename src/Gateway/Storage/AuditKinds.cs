using System.Collections.Frozen;

namespace CyberCoop.Gateway.Storage;

/// <summary>The kinds of audit entries. Anything else is refused at append.</summary>
internal static class AuditKinds
{
    public const string Shared = "shared";
    public const string Withheld = "withheld";
    public const string Received = "received";
    public const string Rejected = "rejected";
    public const string Quarantined = "quarantined";
    public const string IngestRejected = "ingest-rejected";
    public const string Denied = "denied";
    public const string Config = "config";
    public const string Admin = "admin";
    public const string Checkpoint = "checkpoint";

    /// <summary>A peer acknowledged (and signed a receipt for) an envelope this node sent.</summary>
    public const string Delivered = "delivered";

    /// <summary>This node's public trust bundle was served to a gateway of a domain it does not pin (peering set-up).</summary>
    public const string FirstContact = "first-contact";

    /// <summary>An indicator was withdrawn by its origin (here, or received from a peer), or a withdrawal was relayed.</summary>
    public const string Withdrawn = "withdrawn";

    /// <summary>An operator suppressed an indicator locally (a local false-positive decision).</summary>
    public const string Suppressed = "suppressed";

    /// <summary>A sighting report was sent back to an origin, or received from a peer.</summary>
    public const string Sighting = "sighting";

    /// <summary>
    /// An agent or peer hit a per-identity limit (node.limits): the first refusal, then one summary per window with the
    /// number refused meanwhile (never one entry per refused message).
    /// </summary>
    public const string RateLimited = "rate-limited";

    public static FrozenSet<string> All { get; } = FrozenSet.Create(
        StringComparer.Ordinal, Shared, Withheld, Received, Rejected, Quarantined, IngestRejected, Denied, Config, Admin, Checkpoint, Delivered, FirstContact,
        RateLimited, Withdrawn, Suppressed, Sighting);
}
