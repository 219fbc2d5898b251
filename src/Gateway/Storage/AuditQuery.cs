namespace CyberCoop.Gateway.Storage;

/// <summary>
/// A search of the whole audit log (<see cref="AuditLog.SearchAsync"/>): entries of one kind and/or containing a text in
/// actor, subject, decision or reason (case-insensitive for ASCII), one page at a time by seq (keyset paging).
/// </summary>
internal sealed record AuditQuery
{
    /// <summary>Text that actor, subject, decision, reason or kind must contain; empty for any.</summary>
    public string Text { get; init; } = "";

    /// <summary>The entries' kind (<see cref="AuditKinds"/>); empty for any.</summary>
    public string Kind { get; init; } = "";

    /// <summary>Only entries with a seq below this (the next older page); null for the newest.</summary>
    public long? BeforeSeq { get; init; }

    /// <summary>Only entries with a seq above this (the next newer page); ignored when <see cref="BeforeSeq"/> is set.</summary>
    public long? AfterSeq { get; init; }

    /// <summary>Entries per page.</summary>
    public int Limit { get; init; } = 50;
}
