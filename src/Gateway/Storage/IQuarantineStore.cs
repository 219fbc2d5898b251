namespace CyberCoop.Gateway.Storage;

/// <summary>Indicators received from peers and held in quarantine instead of being merged.</summary>
internal interface IQuarantineStore
{
    /// <summary>Whether <paramref name="indicatorId"/> from <paramref name="origin"/> is held in quarantine.</summary>
    Task<bool> IsQuarantinedFromAsync(string indicatorId, string origin, CancellationToken ct);

    /// <summary>How many indicators are held in quarantine.</summary>
    Task<long> CountQuarantinedAsync(CancellationToken ct);
}
