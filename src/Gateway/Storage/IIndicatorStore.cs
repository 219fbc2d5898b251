using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>Reads of stored indicators: the merged view, the node's own view, all of them, how many.</summary>
internal interface IIndicatorStore
{
    /// <summary>The merged indicator stored under <paramref name="id"/>, or null.</summary>
    Task<Indicator?> GetIndicatorAsync(string id, CancellationToken ct);

    /// <summary>What this node's own agents contributed to the indicator (the view it originates), or null.</summary>
    Task<Indicator?> GetOwnViewAsync(string id, CancellationToken ct);

    /// <summary>Every stored indicator (merged view), streamed.</summary>
    IAsyncEnumerable<Indicator> ReadAllIndicatorsAsync(CancellationToken ct);

    /// <summary>How many indicators are stored.</summary>
    Task<long> CountIndicatorsAsync(CancellationToken ct);

    /// <summary>At most <paramref name="limit"/> indicators whose value starts with <paramref name="prefix"/>, in value order.</summary>
    Task<IReadOnlyList<Indicator>> SearchIndicatorsByValueAsync(string prefix, int limit, CancellationToken ct);
}
