namespace CyberCoop.Gateway.Storage;

/// <summary>Outcome of <see cref="AuditLog.VerifyAsync"/>.</summary>
internal sealed record AuditVerifyResult
{
    /// <summary>True when every entry and checkpoint checked out.</summary>
    public required bool Ok { get; init; }

    /// <summary>Entries read.</summary>
    public required long EntriesChecked { get; init; }

    /// <summary>The first seq at which the log is wrong (missing, modified, out of chain, bad checkpoint).</summary>
    public long? FirstBadSeq { get; init; }

    /// <summary>What is wrong at <see cref="FirstBadSeq"/>.</summary>
    public string? Problem { get; init; }

    /// <summary>Checkpoints whose chain position matched (and whose signature verified, when a verifier was given).</summary>
    public int CheckpointsVerified { get; init; }

    /// <summary>Whether checkpoint signatures were checked (a verifier was supplied).</summary>
    public bool SignaturesChecked { get; init; }

    /// <summary>
    /// Entries after the last checkpoint. Someone able to write the database file could truncate or rewrite these
    /// without detection; everything up to the last signed checkpoint is protected by the node's signature.
    /// </summary>
    public long UncheckpointedEntries { get; init; }
}
