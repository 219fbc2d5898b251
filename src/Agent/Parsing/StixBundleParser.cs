using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Stix;

namespace CyberCoop.Agent.Parsing;

/// <summary>
/// STIX 2.1 bundles (or a single object, or an array of objects). Each indicator with a STIX
/// pattern yields one sighting per simple comparison it names: ipv4/ipv6 (CIDR when it has a
/// prefix), domain-name, url, email-addr, file hashes (MD5, SHA-1, SHA-256, SHA-512),
/// autonomous-system. OR gives several sightings; "hashes AND file:name" gives the hashes with
/// the name as context; other AND/FOLLOWEDBY combinations, MATCHES/LIKE/!= and unknown object
/// types are skipped with the reason. TLP comes from object_marking_refs (TLP 1.0 and 2.0 ids,
/// and TLP marking definitions inside the bundle); confidence, valid_from, valid_until, labels and
/// indicator_types are kept.
/// </summary>
internal static class StixBundleParser
{
    /// <summary>Largest bundle read (bytes).</summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    /// <summary>The TLP of a well-known marking definition id, or Unspecified.</summary>
    public static Tlp WellKnownTlp(string markingId) => StixPatternMapping.WellKnownTlp(markingId);

    /// <summary>Parses a whole STIX document; problems are reported through the emitter's diagnostics.</summary>
    public static void Parse(ReadOnlyMemory<byte> json, SightingEmitter emitter)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        var diagnostics = emitter.Diagnostics;
        if (WholeFileJson.Open(json, diagnostics) is not { } document)
        {
            return;
        }

        using (document)
        {
            var objects = new List<JsonElement>();
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                objects.AddRange(root.EnumerateArray());
            }
            else if (root.ValueKind == JsonValueKind.Object && Str(root, "type") == "bundle" && root.TryGetProperty("objects", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                objects.AddRange(list.EnumerateArray());
            }
            else if (root.ValueKind == JsonValueKind.Object)
            {
                objects.Add(root);
            }
            else
            {
                diagnostics.Skip(0, "not a STIX bundle or object");
                return;
            }

            var markings = CollectMarkings(objects);
            foreach (var obj in objects)
            {
                if (obj.ValueKind != JsonValueKind.Object)
                {
                    diagnostics.Skip(0, "bundle entry is not an object");
                    continue;
                }

                var type = Str(obj, "type");
                if (type != "indicator")
                {
                    diagnostics.Ignore("stix " + (type is { Length: <= 40 } ? type : "object") + " (not an indicator)");
                    continue;
                }

                ParseIndicator(obj, markings, emitter);
            }
        }
    }

    private static Dictionary<string, Tlp> CollectMarkings(List<JsonElement> objects)
    {
        var markings = new Dictionary<string, Tlp>(StringComparer.Ordinal);
        foreach (var obj in objects)
        {
            if (obj.ValueKind != JsonValueKind.Object || Str(obj, "type") != "marking-definition" || Str(obj, "id") is not { } id)
            {
                continue;
            }

            var tlp = Tlp.Unspecified;
            if (Str(obj, "definition_type") == "tlp" && obj.TryGetProperty("definition", out var def) && def.ValueKind == JsonValueKind.Object)
            {
                IndicatorTypeNames.TryParseTlp(Str(def, "tlp"), out tlp);
            }

            if (tlp == Tlp.Unspecified && obj.TryGetProperty("extensions", out var ext) && ext.ValueKind == JsonValueKind.Object)
            {
                foreach (var e in ext.EnumerateObject())
                {
                    if (e.Value.ValueKind == JsonValueKind.Object && Str(e.Value, "tlp_2_0") is { } level)
                    {
                        IndicatorTypeNames.TryParseTlp(level, out tlp);
                    }
                }
            }

            if (tlp == Tlp.Unspecified && Str(obj, "name") is { } name && name.StartsWith("TLP:", StringComparison.OrdinalIgnoreCase))
            {
                IndicatorTypeNames.TryParseTlp(name, out tlp);
            }

            if (tlp != Tlp.Unspecified)
            {
                markings[id] = tlp;
            }
        }

        return markings;
    }

    private static void ParseIndicator(JsonElement obj, Dictionary<string, Tlp> markings, SightingEmitter emitter)
    {
        var diagnostics = emitter.Diagnostics;
        var id = Str(obj, "id") ?? "indicator";
        if (obj.TryGetProperty("revoked", out var revoked) && revoked.ValueKind == JsonValueKind.True)
        {
            diagnostics.Ignore("stix indicator revoked");
            return;
        }

        var patternType = Str(obj, "pattern_type") ?? "stix";
        if (patternType != "stix")
        {
            diagnostics.Skip(0, "pattern_type is not stix", id);
            return;
        }

        var pattern = Str(obj, "pattern");
        if (pattern is null)
        {
            diagnostics.Skip(0, "indicator without pattern", id);
            return;
        }

        StixPattern.Node node;
        try
        {
            node = StixPattern.Parse(pattern);
        }
        catch (FormatException ex)
        {
            diagnostics.Skip(0, "pattern does not parse", id + ": " + ex.Message);
            return;
        }

        var items = new List<(IndicatorType Type, string Value, List<KeyValuePair<string, string>> Context)>();
        var unsupported = StixPatternMapping.Extract(node, items, IndicatorTypeNames.Guess);
        if (items.Count == 0)
        {
            diagnostics.Skip(0, "pattern has no simple indicator comparison", id + ": " + (unsupported ?? "nothing to extract"));
            return;
        }

        var tlp = Tlp.Unspecified;
        if (obj.TryGetProperty("object_marking_refs", out var refs) && refs.ValueKind == JsonValueKind.Array)
        {
            foreach (var r in refs.EnumerateArray())
            {
                if (r.ValueKind == JsonValueKind.String && r.GetString() is { } mid)
                {
                    var level = markings.TryGetValue(mid, out var l) ? l : WellKnownTlp(mid);
                    if (level > tlp)
                    {
                        tlp = level;
                    }
                }
            }
        }

        uint? confidence = obj.TryGetProperty("confidence", out var conf) && conf.ValueKind == JsonValueKind.Number && conf.TryGetInt32(out var c) && c is >= 0 and <= 100
            ? (uint)c
            : null;
        var observed = Time(obj, "valid_from") ?? Time(obj, "modified") ?? Time(obj, "created");
        var validUntil = Time(obj, "valid_until");
        var tags = new List<string>();
        AddStrings(obj, "labels", tags);
        AddStrings(obj, "indicator_types", tags);
        var description = Str(obj, "name") ?? Str(obj, "description");
        foreach (var (type, value, context) in items)
        {
            context.Add(new("stix_id", id));
            emitter.Emit(type, value, observed, emitter.ConfidenceFor(confidence), context, tlp, validUntil, description, tags);
        }
    }

    private static string? Str(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static DateTimeOffset? Time(JsonElement obj, string name) =>
        Str(obj, name) is { } t && TimestampParser.TryParse(t, out var ts) ? ts : null;

    private static void AddStrings(JsonElement obj, string name, List<string> into)
    {
        if (obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in v.EnumerateArray())
            {
                if (e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 and <= 64 } s)
                {
                    into.Add(s.ToLowerInvariant());
                }
            }
        }
    }
}
