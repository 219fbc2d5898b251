using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>
/// What <c>indicators export --format stix</c> writes: every origin's object of what the node holds (withdrawn ones
/// revoked, suppressed and expired ones left out: <see cref="ExportLifecycle"/>), then STIX sightings of this node's own
/// active objects that allied nations reported back, then identities and markings.
/// </summary>
internal static class StixBundleExport
{
    /// <summary>Writes the bundle to <paramref name="output"/>; returns the number of indicator/vulnerability and sighting objects.</summary>
    public static async Task<int> WriteAsync(IExportStore store, ILifecycleStore lifecycleStore, string ownDomain, string? onlyOrigin, Stream output, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        await using var bundle = new StixBundleWriter(output);
        var lifecycle = await ExportLifecycle.ReadAsync(lifecycleStore, now, ct).ConfigureAwait(false);
        var ownObjects = new Dictionary<string, (string Id, Tlp Tlp)>(StringComparer.Ordinal);
        await foreach (var stored in store.ReadAllViewsAsync(ct).ConfigureAwait(false))
        {
            foreach (var view in lifecycle.Views(stored, ownDomain))
            {
                if (onlyOrigin is null || string.Equals(view.Origin, onlyOrigin, StringComparison.Ordinal))
                {
                    await bundle.AddAsync(view, ct).ConfigureAwait(false);
                    if (view.Origin == ownDomain && view.Withdrawal is null)
                    {
                        ownObjects[view.View.Id] = (view.ToStix().Id, view.View.Tlp);
                    }
                }
            }
        }

        // What allied nations reported back about this node's own (active) indicators, as STIX sightings.
        foreach (var back in await store.ReadSightingsBackAsync(after: null, ct).ConfigureAwait(false))
        {
            if (ownObjects.TryGetValue(back.IndicatorId, out var sighted))
            {
                bundle.AddSighting(back, sighted.Id, sighted.Tlp);
            }
        }

        var count = bundle.Count;
        await bundle.FinishAsync(ct).ConfigureAwait(false);
        return count;
    }
}
