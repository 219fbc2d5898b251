namespace CyberCoop.Crypto;

/// <summary>What a signature is for; each purpose signs under its own context string (<see cref="SignatureContexts"/>).</summary>
public enum SignaturePurpose
{
    /// <summary>Origin signature over a serialized Bundle (<c>cybercoop/v2/bundle-signature</c>, content key).</summary>
    Bundle,

    /// <summary>Receiver's receipt over a ReceiptBody (<c>cybercoop/v2/receipt</c>, content key).</summary>
    Receipt,

    /// <summary>A node's key announcement, signed by its TLS identity (<c>cybercoop/v1/key-announcement</c>, identity key).</summary>
    KeyAnnouncement,

    /// <summary>A trust bundle, signed by a domain root (<c>cybercoop/v1/trust-bundle</c>, identity key).</summary>
    TrustBundle,

    /// <summary>An audit log checkpoint (<c>cybercoop/v2/audit-checkpoint</c>, content key).</summary>
    AuditCheckpoint,

    /// <summary>An origin's withdrawal of an indicator (<c>cybercoop/v2/withdrawal</c>, content key).</summary>
    Withdrawal,

    /// <summary>A node's sighting report to an origin (<c>cybercoop/v2/sighting-report</c>, content key).</summary>
    SightingReport,
}
