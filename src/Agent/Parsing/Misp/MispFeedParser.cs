using System.Globalization;
using System.Text.Json;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing.Misp;

/// <summary>
/// MISP feed files (the layout MISP's own feeds use: <c>manifest.json</c> plus one <c>&lt;uuid&gt;.json</c> per
/// event, each <c>{"Event": {...}}</c>). Every attribute of an event (and of its MISP objects) whose type names an
/// indicator becomes a sighting: ip-src/ip-dst (and their |port forms), domain, hostname, domain|ip, url, md5, sha1,
/// sha256, sha512, filename|md5/sha1/sha256/sha512 (file name kept as context), email-src/email-dst/email,
/// vulnerability (CVE), ja3-fingerprint-md5, AS, and text tagged <c>cybercoop:type="ja4"</c>. TLP comes from
/// tlp:* tags (the attribute's, else the event's); <c>cybercoop:confidence</c> and <c>cybercoop:sector</c> tags
/// (written by our own MISP export) give confidence and sectors; other tags are kept as tags. Attributes marked
/// deleted, and attributes with <c>to_ids: false</c> (context, not for detection; except vulnerabilities), are
/// ignored with the reason; unknown types are skipped with the reason. The manifest itself names no attributes and is
/// ignored. docs/interoperability.md has the full table.
/// </summary>
internal static class MispFeedParser
{
    /// <summary>Largest event file read (bytes), as for STIX bundles.</summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    /// <summary>Parses one feed file; problems are reported through the emitter's diagnostics.</summary>
    public static void Parse(ReadOnlyMemory<byte> json, SightingEmitter emitter) => Parse(json, emitter, changedAfter: 0, expectedEvent: null);

    /// <summary>
    /// Parses one event file fetched from a feed. Attributes whose <c>timestamp</c> is at or before
    /// <paramref name="changedAfter"/> (Unix seconds; 0 = none) were sent when the event was last read and are not sent
    /// again; <paramref name="expectedEvent"/> (when given) is the uuid the manifest names for this file. False when the
    /// file is not that event (reported through the diagnostics).
    /// </summary>
    public static bool Parse(ReadOnlyMemory<byte> json, SightingEmitter emitter, long changedAfter, string? expectedEvent)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        var diagnostics = emitter.Diagnostics;
        if (WholeFileJson.Open(json, diagnostics) is not { } document)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Event", out var evt) && evt.ValueKind == JsonValueKind.Object)
            {
                if (expectedEvent is not null && !string.Equals(Str(evt, "uuid"), expectedEvent, StringComparison.OrdinalIgnoreCase))
                {
                    diagnostics.Skip(0, "misp event uuid differs from the manifest entry it was fetched for", expectedEvent);
                    return false;
                }

                ParseEvent(evt, emitter, changedAfter);
                return true;
            }
            else if (root.ValueKind == JsonValueKind.Object && root.EnumerateObject().Any() && root.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("info", out _)))
            {
                diagnostics.Ignore("misp manifest (events are read from their own files)");
            }
            else
            {
                diagnostics.Skip(0, "not a MISP feed event ({\"Event\": {...}}) or manifest");
            }
        }

        return false;
    }

    private static void ParseEvent(JsonElement evt, SightingEmitter emitter, long changedAfter)
    {
        var eventInfo = Tags(evt);
        var info = Str(evt, "info");
        var eventUuid = Str(evt, "uuid") ?? "";
        if (evt.TryGetProperty("Attribute", out var attributes))
        {
            ParseAttributes(attributes, eventInfo, info, eventUuid, emitter, changedAfter);
        }

        if (evt.TryGetProperty("Object", out var objects) && objects.ValueKind == JsonValueKind.Array)
        {
            foreach (var obj in objects.EnumerateArray())
            {
                if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty("Attribute", out var inner))
                {
                    if (obj.TryGetProperty("deleted", out var objDeleted) && objDeleted.ValueKind == JsonValueKind.True)
                    {
                        emitter.Diagnostics.Ignore("misp object deleted");
                        continue;
                    }

                    ParseAttributes(inner, eventInfo, info, eventUuid, emitter, changedAfter);
                }
            }
        }
    }

    private static void ParseAttributes(JsonElement attributes, TagInfo eventTags, string? info, string eventUuid, SightingEmitter emitter, long changedAfter)
    {
        if (attributes.ValueKind != JsonValueKind.Array)
        {
            emitter.Diagnostics.Skip(0, "misp Attribute is not a list", eventUuid);
            return;
        }

        foreach (var attribute in attributes.EnumerateArray())
        {
            if (attribute.ValueKind != JsonValueKind.Object)
            {
                emitter.Diagnostics.Skip(0, "misp attribute is not an object", eventUuid);
                continue;
            }

            if (changedAfter > 0 && UnixTime(attribute, "timestamp") is { } stamp && stamp.ToUnixTimeSeconds() <= changedAfter)
            {
                emitter.Diagnostics.Ignore("misp attribute unchanged since the event was last read");
                continue;
            }

            ParseAttribute(attribute, eventTags, info, eventUuid, emitter);
        }
    }

    private static void ParseAttribute(JsonElement attribute, TagInfo eventTags, string? info, string eventUuid, SightingEmitter emitter)
    {
        var diagnostics = emitter.Diagnostics;
        var type = Str(attribute, "type");
        var value = Str(attribute, "value");
        var uuid = Str(attribute, "uuid") ?? "";
        if (type is null || value is null)
        {
            diagnostics.Skip(0, "misp attribute without type or value", uuid);
            return;
        }

        if (attribute.TryGetProperty("deleted", out var deleted) && (deleted.ValueKind == JsonValueKind.True || (deleted.ValueKind == JsonValueKind.String && deleted.GetString() is "1" or "true")))
        {
            diagnostics.Ignore("misp attribute deleted");
            return;
        }

        var toIds = !attribute.TryGetProperty("to_ids", out var ids) || ids.ValueKind == JsonValueKind.True || (ids.ValueKind == JsonValueKind.String && ids.GetString() is "1" or "true");
        var tags = Tags(attribute);
        var items = Map(type, value, tags);
        if (items.Count == 0)
        {
            diagnostics.Skip(0, "misp attribute type not supported", (type.Length <= 40 ? type : type[..40]) + " " + uuid);
            return;
        }

        if (!toIds && items.TrueForAll(i => i.Type != IndicatorType.Cve))
        {
            diagnostics.Ignore("misp attribute with to_ids false (context, not for detection)");
            return;
        }

        var tlp = tags.Tlp != Tlp.Unspecified ? tags.Tlp : eventTags.Tlp;
        var confidence = emitter.ConfidenceFor(tags.Confidence ?? eventTags.Confidence);
        var observed = Time(attribute, "last_seen") ?? Time(attribute, "first_seen") ?? UnixTime(attribute, "timestamp");
        var comment = Str(attribute, "comment");
        var description = string.IsNullOrEmpty(comment) ? info : comment;
        var allTags = eventTags.Labels.Concat(tags.Labels).Distinct(StringComparer.Ordinal).ToList();
        foreach (var (itemType, itemValue, filename) in items)
        {
            var context = new List<KeyValuePair<string, string>> { new("misp_event", eventUuid), new("misp_attribute", uuid) };
            if (Str(attribute, "category") is { Length: > 0 and <= 64 } category)
            {
                context.Add(new("misp_category", category));
            }

            if (filename is not null)
            {
                context.Add(new("filename", SightingEmitter.Truncate(filename, 256)));
            }

            var sighting = emitter.Emit(itemType, itemValue, observed, confidence, context, tlp, null, description, allTags);
            if (sighting is not null)
            {
                foreach (var sector in eventTags.Sectors.Concat(tags.Sectors).Distinct(StringComparer.Ordinal))
                {
                    if (!sighting.Sectors.Contains(sector))
                    {
                        sighting.Sectors.Add(sector);
                    }
                }
            }
        }
    }

    /// <summary>Our indicator(s) for a MISP attribute type and value; empty for a type we do not take.</summary>
    private static List<(IndicatorType Type, string Value, string? Filename)> Map(string type, string value, TagInfo tags)
    {
        var list = new List<(IndicatorType, string, string?)>();
        var bar = value.IndexOf('|', StringComparison.Ordinal);
        var left = bar < 0 ? value : value[..bar];
        var right = bar < 0 ? "" : value[(bar + 1)..];
        switch (type)
        {
            case "ip-src" or "ip-dst":
                list.Add((Ip(value), value, null));
                break;
            case "ip-src|port" or "ip-dst|port":
                list.Add((Ip(left), left, null));
                break;
            case "domain" or "hostname":
                list.Add((IndicatorType.Domain, value, null));
                break;
            case "domain|ip" or "hostname|port":
                list.Add((IndicatorType.Domain, left, null));
                if (type == "domain|ip" && right.Length > 0)
                {
                    list.Add((Ip(right), right, null));
                }

                break;
            case "url":
                list.Add((IndicatorType.Url, value, null));
                break;
            case "md5" or "sha1" or "sha256" or "sha512":
                list.Add((Hash(type), value, null));
                break;
            case "filename|md5" or "filename|sha1" or "filename|sha256" or "filename|sha512":
                if (right.Length > 0)
                {
                    list.Add((Hash(type["filename|".Length..]), right, left));
                }

                break;
            case "email-src" or "email-dst" or "email" or "target-email":
                list.Add((IndicatorType.Email, value, null));
                break;
            case "vulnerability":
                list.Add((IndicatorType.Cve, value, null));
                break;
            case "ja3-fingerprint-md5":
                list.Add((IndicatorType.Ja3, value, null));
                break;
            case "AS":
                var asn = value.StartsWith("AS", StringComparison.OrdinalIgnoreCase) ? value[2..] : value;
                list.Add((IndicatorType.Asn, asn, null));
                break;
            case "text" when tags.OurType == "ja4":
                list.Add((IndicatorType.Ja4, value, null));
                break;
        }

        return list;
    }

    private static IndicatorType Ip(string value) =>
        value.Contains('/', StringComparison.Ordinal) ? IndicatorType.Cidr : value.Contains(':', StringComparison.Ordinal) ? IndicatorType.Ipv6 : IndicatorType.Ipv4;

    private static IndicatorType Hash(string name) => name switch
    {
        "md5" => IndicatorType.Md5,
        "sha1" => IndicatorType.Sha1,
        "sha256" => IndicatorType.Sha256,
        _ => IndicatorType.Sha512,
    };

    private sealed record TagInfo(Tlp Tlp, uint? Confidence, List<string> Labels, List<string> Sectors, string? OurType);

    private static TagInfo Tags(JsonElement element)
    {
        var tlp = Tlp.Unspecified;
        uint? confidence = null;
        string? ourType = null;
        var labels = new List<string>();
        var sectors = new List<string>();
        if (element.TryGetProperty("Tag", out var tags) && tags.ValueKind == JsonValueKind.Array)
        {
            foreach (var tag in tags.EnumerateArray())
            {
                var name = tag.ValueKind == JsonValueKind.Object ? Str(tag, "name") : tag.ValueKind == JsonValueKind.String ? tag.GetString() : null;
                if (string.IsNullOrWhiteSpace(name) || name.Length > 256)
                {
                    continue;
                }

                if (name.StartsWith("tlp:", StringComparison.OrdinalIgnoreCase))
                {
                    if (IndicatorTypeNames.TryParseTlp(name, out var level) && level > tlp)
                    {
                        tlp = level; // several tlp tags: the most restrictive wins
                    }
                }
                else if (OurTag(name, "confidence") is { } c)
                {
                    confidence = uint.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 100 ? n : confidence;
                }
                else if (OurTag(name, "sector") is { } s)
                {
                    sectors.Add(s.ToLowerInvariant());
                }
                else if (OurTag(name, "type") is { } t)
                {
                    ourType = t;
                }
                else if (name.Length <= 64)
                {
                    labels.Add(name.ToLowerInvariant());
                }
            }
        }

        return new TagInfo(tlp, confidence, labels, sectors, ourType);
    }

    /// <summary>The value of a machine tag <c>cybercoop:&lt;key&gt;="&lt;value&gt;"</c>, or null.</summary>
    private static string? OurTag(string name, string key)
    {
        var prefix = "cybercoop:" + key + "=\"";
        return name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && name.EndsWith('"') && name.Length > prefix.Length
            ? name[prefix.Length..^1]
            : null;
    }

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Time(JsonElement element, string name) =>
        Str(element, name) is { Length: > 0 and < 64 } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : null;

    private static DateTimeOffset? UnixTime(JsonElement element, string name)
    {
        var text = Str(element, name);
        if (text is null && element.TryGetProperty(name, out var number) && number.ValueKind == JsonValueKind.Number && number.TryGetInt64(out var n))
        {
            return n is > 0 and < 253402300799 ? DateTimeOffset.FromUnixTimeSeconds(n) : null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and < 253402300799
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
    }
}
