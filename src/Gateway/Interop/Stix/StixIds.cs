using System.Text;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>
/// Deterministic STIX identifiers: UUIDv5 in the namespace STIX 2.1 section 2.9 defines for deterministic ids
/// (00abedb4-aa42-466c-9c01-fed23315a9b7), so a re-export names the same objects and downstream tools update
/// them instead of creating new ones.
/// </summary>
internal static class StixIds
{
    /// <summary>The STIX 2.1 namespace for UUIDv5 identifiers (section 2.9).</summary>
    public static readonly Guid Namespace = new("00abedb4-aa42-466c-9c01-fed23315a9b7");

    /// <summary>
    /// The indicator object of one origin's view of one indicator: name "cybercoop:&lt;origin domain&gt;:&lt;indicator id&gt;".
    /// One object per (origin, indicator) because only its creator may version a STIX object.
    /// </summary>
    public static string Indicator(string originDomain, string indicatorId) =>
        "indicator--" + V5("cybercoop:" + originDomain + ":" + indicatorId);

    /// <summary>The identity object of an origin trust domain: name "cybercoop-origin:&lt;domain&gt;".</summary>
    public static string Identity(string originDomain) => "identity--" + V5("cybercoop-origin:" + originDomain);

    /// <summary>The vulnerability object of a CVE as one origin reports it.</summary>
    public static string Vulnerability(string originDomain, string cve) =>
        "vulnerability--" + V5("cybercoop:" + originDomain + ":vulnerability:" + cve);

    /// <summary>The sighting object of what one nation reported back about an object (one per reporter and object).</summary>
    public static string Sighting(string reporterDomain, string sightingOfRef) =>
        "sighting--" + V5("cybercoop-sighting:" + reporterDomain + ":" + sightingOfRef);

    /// <summary>A bundle id derived from the ids of the objects it holds (a re-export of the same content is the same bundle).</summary>
    public static string Bundle(IEnumerable<string> objectIds)
    {
        ArgumentNullException.ThrowIfNull(objectIds);
        var builder = new StringBuilder("cybercoop-bundle");
        foreach (var id in objectIds)
        {
            builder.Append('|').Append(id);
        }

        return "bundle--" + V5(builder.ToString());
    }

    private static string V5(string name) => IndicatorIds.ComputeV5(Namespace, Encoding.UTF8.GetBytes(name)).ToString("D");
}
