namespace CyberCoop.Gateway.Storage;

/// <summary>
/// A signed statement "the log up to <see cref="CoveredSeq"/> has head hash <see cref="CoveredHash"/>", stored as
/// the checkpoint entry <see cref="EntrySeq"/> (= CoveredSeq + 1).
/// </summary>
internal sealed record AuditCheckpoint(long EntrySeq, long CoveredSeq, byte[] CoveredHash, byte[] Signature);
