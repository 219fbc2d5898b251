using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Indicators one committed agent batch created or changed, as they were committed, in change-feed order:
/// <c>Indicators[i]</c> has local_seq <c>FirstSeq + i</c>.
/// </summary>
internal sealed record LocalChangeBatch(long FirstSeq, IReadOnlyList<Indicator> Indicators)
{
    /// <summary>local_seq of the last indicator.</summary>
    public long LastSeq => FirstSeq + Indicators.Count - 1;
}
