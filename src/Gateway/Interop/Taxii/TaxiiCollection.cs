using System.Text;
using CyberCoop.Gateway.Interop.Stix;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// One TAXII collection: a view of the node's content by origin. <see cref="Origin"/> null with
/// <see cref="ReceivedOnly"/> = "all received"; an origin domain = that nation's content (our own domain = "our own").
/// </summary>
internal sealed record TaxiiCollection(string Id, string Title, string Description, string? Origin, bool ReceivedOnly, string OwnDomain)
{
    /// <summary>True for the write-only "outbound" collection (POSTed indicators become this node's sightings).</summary>
    public bool Outbound { get; init; }

    /// <summary>The collections of a node: our own, all received, and one per allied origin domain.</summary>
    public static IReadOnlyList<TaxiiCollection> For(string ownDomain, IEnumerable<string> alliedDomains)
    {
        var list = new List<TaxiiCollection>
        {
            new(IdOf(ownDomain, "own"), "Our own (" + ownDomain + ")", "Indicators this node's own sensors observed.", ownDomain, false, ownDomain),
            new(IdOf(ownDomain, "received"), "All received", "Indicators received from every allied nation, each as its origin's view.", null, true, ownDomain),
        };
        list.Add(new(IdOf(ownDomain, "outbound"), "Outbound (share with allies)",
            "Write-only: STIX indicators POSTed here become sightings of this node, validated and shared under its outbound policy like an agent's.",
            null, false, ownDomain) { Outbound = true });
        foreach (var ally in alliedDomains.Where(d => d != ownDomain).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            list.Add(new(IdOf(ownDomain, "origin:" + ally), "Received from " + ally, "Indicators originated by " + ally + ".", ally, true, ownDomain));
        }

        return list;
    }

    /// <summary>True when an object created by <paramref name="origin"/> belongs here.</summary>
    public bool Holds(string origin) =>
        !Outbound && (Origin is not null ? string.Equals(origin, Origin, StringComparison.Ordinal) : !string.Equals(origin, OwnDomain, StringComparison.Ordinal));

    private static string IdOf(string ownDomain, string kind) =>
        IndicatorIds.ComputeV5(StixIds.Namespace, Encoding.UTF8.GetBytes("cybercoop-taxii-collection:" + ownDomain + ":" + kind)).ToString("D");
}
