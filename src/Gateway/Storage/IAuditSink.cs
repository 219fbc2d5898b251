namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Audit of decisions made outside a storage transaction (refused callers, reloads, operator actions). Entries are
/// queued and written in batches; while the node runs none is dropped (a batch the database refuses is retried).
/// </summary>
internal interface IAuditSink
{
    /// <summary>Queues an entry; an entry that could never be written (unknown kind, missing field) throws here.</summary>
    void AuditLater(AuditEntry entry);

    /// <summary>Counts and audits a refused caller (a failed TLS chain or a call refused by authorization).</summary>
    void RecordDenial(string caller, string subject, string reason);

    /// <summary>Entries queued and not yet written.</summary>
    long AuditPending { get; }

    /// <summary>Entries still queued when the node stopped and could not be written within the stop grace.</summary>
    long AuditDropped { get; }
}
