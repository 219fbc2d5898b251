using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Interop.Stix;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Interop;

/// <summary>
/// One origin's object of a stored indicator as the interoperability exports (STIX file, TAXII, MISP feed) carry it:
/// <paramref name="View"/> holds only that origin's content (<see cref="StixExporter.Views"/>);
/// <paramref name="Withdrawal"/> is set when that origin withdrew it (exported as revoked); <paramref name="Expired"/>
/// when its validity has passed here.
/// </summary>
internal sealed record ExportedView(string Origin, Indicator View, WithdrawalRecord? Withdrawal, bool Expired)
{
    /// <summary>The STIX object: <c>revoked: true</c> with <c>modified</c> at the withdrawal when withdrawn.</summary>
    public StixObject ToStix() => StixExporter.ObjectFor(View, Origin, Withdrawal?.WithdrawnAt);
}

/// <summary>
/// Applies the intelligence lifecycle (issue 16) to what the exports show, the same way in every export
/// (docs/interoperability.md, "Withdrawn, suppressed and expired indicators"):
/// <list type="bullet">
/// <item>An origin's object is <b>revoked</b> when that origin withdrew the indicator (STIX: only an object's creator
/// revokes it; the object of another origin of the same value stays as it is). Revoked objects are always exported,
/// so a consumer that holds the earlier version learns of it.</item>
/// <item>A <b>suppressed</b> indicator (a local false-positive decision) is left out: it is not the origin's
/// revocation, so no object is marked revoked in the origin's name.</item>
/// <item>An <b>expired</b> indicator (its valid-until passed) is left out, or, for the MISP feed, kept with
/// <c>to_ids: false</c> (context, not for detection) when <c>includeExpired</c> is set.</item>
/// </list>
/// </summary>
internal sealed class ExportLifecycle(
    IReadOnlyDictionary<string, List<WithdrawalRecord>> withdrawals,
    IReadOnlyDictionary<string, SuppressionRecord> suppressions,
    DateTimeOffset now)
{
    /// <summary>The time expiry is judged at.</summary>
    public DateTimeOffset Now { get; } = now;

    /// <summary>Reads every withdrawal and suppression recorded at this node (both are small tables).</summary>
    public static async Task<ExportLifecycle> ReadAsync(ILifecycleStore store, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var withdrawals = await store.ReadAllWithdrawalsAsync(ct).ConfigureAwait(false);
        var suppressions = await store.ReadSuppressionsAsync(ct).ConfigureAwait(false);
        return new ExportLifecycle(withdrawals, suppressions, now);
    }

    /// <summary>
    /// The objects of <paramref name="stored"/> to export (<paramref name="ownDomain"/> is this node's trust domain),
    /// each with its lifecycle state; suppressed ones and (unless <paramref name="includeExpired"/>) expired ones
    /// are not returned, withdrawn ones always are.
    /// </summary>
    public IEnumerable<ExportedView> Views(StoredViews stored, string ownDomain, bool includeExpired = false)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var id = stored.Merged.Id;
        var withdrawnBy = withdrawals.GetValueOrDefault(id);
        var suppressed = suppressions.ContainsKey(id);
        foreach (var (origin, view) in StixExporter.Views(stored, ownDomain))
        {
            var withdrawal = withdrawnBy?.FirstOrDefault(w => string.Equals(SightingValidator.TrustDomainOf(w.Origin), origin, StringComparison.Ordinal));
            var expired = IsExpired(stored.Merged) || IsExpired(view);
            if (withdrawal is null && (suppressed || (expired && !includeExpired)))
            {
                continue;
            }

            yield return new ExportedView(origin, view, withdrawal, expired);
        }
    }

    private bool IsExpired(Indicator indicator) => indicator.ValidUntil is { } until && until.ToDateTimeOffset() <= Now;
}
