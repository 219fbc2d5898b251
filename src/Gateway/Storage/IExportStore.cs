namespace CyberCoop.Gateway.Storage;

/// <summary>Reads for the interop exports (STIX, MISP, TAXII): both views of every indicator, with change times.</summary>
internal interface IExportStore
{
    /// <summary>Every indicator's merged view and own view, streamed.</summary>
    IAsyncEnumerable<StoredViews> ReadAllViewsAsync(CancellationToken ct);

    /// <summary>Every indicator (both views) with the time it was last stored or changed, changed after <paramref name="after"/> when given.</summary>
    IAsyncEnumerable<(DateTimeOffset UpdatedAt, StoredViews Views)> ReadIndicatorsWithUpdateTimeAsync(DateTimeOffset? after, CancellationToken ct);

    /// <summary>Sightings reported back to this node, summed per indicator and reporter, with a report after <paramref name="after"/> when given.</summary>
    Task<IReadOnlyList<SightingsBack>> ReadSightingsBackAsync(DateTimeOffset? after, CancellationToken ct);
}
