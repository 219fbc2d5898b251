using System.Collections.Frozen;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Stix;

/// <summary>
/// What a STIX 2.1 indicator pattern names as CyberCoop indicators: ipv4/ipv6 (CIDR with a prefix), domain-name, url,
/// email-addr, file hashes, autonomous-system, and the JA3/JA4 custom properties of our own export; OR gives several,
/// "hashes AND file:name" the hashes with the name as context; anything else is refused with the reason. Linked into
/// the agent (its <c>stix</c> source) and the gateway (TAXII's outbound collection), so both read a pattern alike.
/// </summary>
internal static class StixPatternMapping
{
    private static readonly FrozenDictionary<string, Tlp> s_wellKnownMarkings = new Dictionary<string, Tlp>(StringComparer.Ordinal)
    {
        // TLP 1.0 (STIX 2.1 section 7.2.1.4)
        ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"] = Tlp.Clear,
        ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"] = Tlp.Green,
        ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"] = Tlp.Amber,
        ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"] = Tlp.Red,

        // TLP 2.0 (oasis-open/cti-stix-common-objects)
        ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"] = Tlp.Clear,
        ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"] = Tlp.Green,
        ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"] = Tlp.Amber,
        ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"] = Tlp.AmberStrict,
        ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"] = Tlp.Red,
    }.ToFrozenDictionary(StringComparer.Ordinal);


    /// <summary>The TLP of a well-known marking definition id (TLP 1.0 or 2.0), or Unspecified.</summary>
    public static Tlp WellKnownTlp(string markingId) => s_wellKnownMarkings.GetValueOrDefault(markingId, Tlp.Unspecified);

    /// <summary>Collects the sightings a pattern node names; returns why parts were not usable (or null).</summary>
    public static string? Extract(StixPattern.Node node, List<(IndicatorType Type, string Value, List<KeyValuePair<string, string>> Context)> items, Func<string, IndicatorType>? guess = null)
    {
        switch (node)
        {
            case StixPattern.Comparison cmp:
                var mapped = Map(cmp, guess);
                if (mapped is { } m)
                {
                    items.Add((m.Type, m.Value, []));
                    return null;
                }

                return $"comparison {cmp.ObjectType}:{cmp.Property} {cmp.Operator} is not a simple indicator";
            case StixPattern.Or alternatives:
                string? reason = null;
                foreach (var child in alternatives.Children)
                {
                    reason ??= Extract(child, items, guess);
                }

                return reason;
            case StixPattern.And conjunction when !conjunction.AcrossObservations:
                // "(file hashes ...) AND file:name = 'x'": the hashes identify the file; the other
                // comparisons on the same file become context.
                var found = new List<(IndicatorType, string, List<KeyValuePair<string, string>>)>();
                var context = new List<KeyValuePair<string, string>>();
                var identifying = 0;
                foreach (var child in conjunction.Children)
                {
                    var before = found.Count;
                    var childReason = Extract(child, found, guess);
                    if (found.Count > before && childReason is null && found.Skip(before).All(f => IsFileHash(f.Item1)))
                    {
                        identifying++;
                    }
                    else if (found.Count == before && child is StixPattern.Comparison { ObjectType: "file", Operator: "=", Value: { } v } c2)
                    {
                        context.Add(new("file_" + c2.Property.Replace('.', '_'), v));
                    }
                    else
                    {
                        return "AND of several observables is not a simple indicator";
                    }
                }

                if (identifying != 1)
                {
                    return "AND of several observables is not a simple indicator";
                }

                foreach (var f in found)
                {
                    f.Item3.AddRange(context);
                    items.Add(f);
                }

                return null;
            default:
                return "AND/FOLLOWEDBY across observations is not a simple indicator";
        }
    }

    private static bool IsFileHash(IndicatorType type) => type is IndicatorType.Md5 or IndicatorType.Sha1 or IndicatorType.Sha256 or IndicatorType.Sha512;

    private static (IndicatorType Type, string Value)? Map(StixPattern.Comparison cmp, Func<string, IndicatorType>? guess)
    {
        if (cmp.Operator != "=" || string.IsNullOrWhiteSpace(cmp.Value))
        {
            return null;
        }

        var value = cmp.Value.Trim();
        var property = cmp.Property.ToLowerInvariant();
        IndicatorType type = (cmp.ObjectType, property) switch
        {
            ("ipv4-addr", "value") => value.Contains('/', StringComparison.Ordinal) ? IndicatorType.Cidr : IndicatorType.Ipv4,
            ("ipv6-addr", "value") => value.Contains('/', StringComparison.Ordinal) ? IndicatorType.Cidr : IndicatorType.Ipv6,
            ("domain-name", "value") => IndicatorType.Domain,
            ("url", "value") => IndicatorType.Url,
            ("email-addr", "value") => IndicatorType.Email,
            ("email-message", "from_ref.value" or "sender_ref.value") => IndicatorType.Email,
            ("autonomous-system", "number") => IndicatorType.Asn,
            ("file", "hashes.md5") => IndicatorType.Md5,
            ("file", "hashes.sha-1" or "hashes.sha1") => IndicatorType.Sha1,
            ("file", "hashes.sha-256" or "hashes.sha256") => IndicatorType.Sha256,
            ("file", "hashes.sha-512" or "hashes.sha512") => IndicatorType.Sha512,
            // The custom properties CyberCoop's STIX export writes for TLS client fingerprints (docs/interoperability.md).
            ("network-traffic", "x_ja3_md5") => IndicatorType.Ja3,
            ("network-traffic", "x_ja4") => IndicatorType.Ja4,
            ("network-traffic", "dst_ref.value" or "src_ref.value") => IndicatorType.Unspecified,
            _ => (IndicatorType)(-1),
        };
        if ((int)type == -1)
        {
            return null;
        }

        if (type == IndicatorType.Unspecified)
        {
            type = guess?.Invoke(value) ?? IndicatorType.Unspecified;
            if (type == IndicatorType.Unspecified)
            {
                return null;
            }
        }

        if (IsFileHash(type))
        {
            value = value.ToLowerInvariant();
        }

        return (type, value);
    }
}
