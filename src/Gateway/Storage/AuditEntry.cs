namespace CyberCoop.Gateway.Storage;

/// <summary>
/// One audit log entry. To append, set <see cref="Kind"/>, <see cref="Actor"/>, <see cref="Subject"/>,
/// <see cref="Decision"/> and optionally <see cref="Reason"/>, <see cref="DetailsJson"/> and <see cref="At"/>
/// (default: now). <see cref="Seq"/>, <see cref="PrevHash"/> and <see cref="Hash"/> are assigned by the log and
/// filled in when entries are read.
/// </summary>
internal sealed record AuditEntry
{
    /// <summary>Position in the log, from 1, without gaps.</summary>
    public long Seq { get; init; }

    /// <summary>When it happened (stored with millisecond precision). Default: the time of the append.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>One of <see cref="AuditKinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>Who acted: a SPIFFE id (peer, agent, operator) or "node".</summary>
    public required string Actor { get; init; }

    /// <summary>What it was about: an indicator id, envelope id, peer, config path...</summary>
    public required string Subject { get; init; }

    /// <summary>The outcome ("shared", "withheld", "accepted", "denied"...).</summary>
    public required string Decision { get; init; }

    /// <summary>Why (a rule code or error text).</summary>
    public string Reason { get; init; } = string.Empty;

    /// <summary>Extra structured context as a JSON text.</summary>
    public string DetailsJson { get; init; } = "{}";

    /// <summary>Hash of the previous entry (32 zero bytes for the first).</summary>
    public ReadOnlyMemory<byte> PrevHash { get; init; }

    /// <summary>SHA-256 of this entry's canonical encoding (see <see cref="AuditHasher"/>).</summary>
    public ReadOnlyMemory<byte> Hash { get; init; }
}
