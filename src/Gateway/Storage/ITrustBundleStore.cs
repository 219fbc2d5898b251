namespace CyberCoop.Gateway.Storage;

/// <summary>Peer domains' trust bundles this node accepted, kept so a restart trusts what it trusted before.</summary>
internal interface ITrustBundleStore
{
    /// <summary>Stores (replaces) the bundle held for its trust domain.</summary>
    Task SaveTrustBundleAsync(StoredTrustBundle bundle, CancellationToken ct);

    /// <summary>Every held bundle.</summary>
    Task<IReadOnlyList<StoredTrustBundle>> ReadTrustBundlesAsync(CancellationToken ct);
}
