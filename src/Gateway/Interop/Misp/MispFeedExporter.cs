using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Interop.Stix;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Interop.Misp;

/// <summary>
/// Writes what a node holds as a MISP feed folder (the layout MISP's own feeds use and its "Feeds" import reads):
/// <c>manifest.json</c> (event uuid → event summary), one <c>&lt;uuid&gt;.json</c> per event and <c>hashes.csv</c>
/// (MD5 of each attribute value, event uuid). One event per (origin trust domain, TLP level), tagged with that
/// level's tlp: tag and with the origin as its creator organisation (the trust domain only, never a sensor). Every
/// uuid is deterministic, so a re-export updates the same events and attributes downstream.
/// </summary>
internal static class MispFeedExporter
{
    /// <summary>Namespace of our MISP uuids (UUIDv5 of "misp-event:…" / "misp-attribute:…" / "misp-org:…").</summary>
    private static readonly Guid Namespace = StixIds.Namespace;

    /// <summary>
    /// Exports every indicator (or only <paramref name="onlyOrigin"/>'s) into <paramref name="folder"/>; each attribute
    /// carries only its origin's content (<see cref="StixExporter.Views"/>: the origin view for
    /// <paramref name="ownDomain"/>, this node's trust domain).
    /// </summary>
    public static async Task<(int Events, int Attributes)> ExportAsync(IExportStore store, ILifecycleStore lifecycleStore, string ownDomain, string folder, string? onlyOrigin, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(time);
        var events = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        var attributes = 0;
        var lifecycle = await ExportLifecycle.ReadAsync(lifecycleStore, time.GetUtcNow(), ct).ConfigureAwait(false);
        await foreach (var stored in store.ReadAllViewsAsync(ct).ConfigureAwait(false))
        {
            foreach (var exported in lifecycle.Views(stored, ownDomain, includeExpired: true))
            {
                if (onlyOrigin is not null && !string.Equals(exported.Origin, onlyOrigin, StringComparison.Ordinal))
                {
                    continue;
                }

                var (origin, indicator) = (exported.Origin, exported.View);
                var eventUuid = Uuid("misp-event:" + origin + ":" + MispTypes.TlpTag(indicator.Tlp));
                if (!events.TryGetValue(eventUuid, out var evt))
                {
                    evt = NewEvent(eventUuid, origin, indicator.Tlp);
                    events.Add(eventUuid, evt);
                }

                ((JsonArray)evt["Attribute"]!).Add(Attribute(exported));
                attributes++;
            }
        }

        Directory.CreateDirectory(folder);
        var manifest = new JsonObject();
        var hashes = new StringBuilder();
        foreach (var (uuid, evt) in events)
        {
            var list = (JsonArray)evt["Attribute"]!;
            var newest = list.Max(a => long.Parse((string)a!["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture));
            var oldest = list.Min(a => (string)a!["first_seen"]!);
            evt["timestamp"] = newest.ToString(System.Globalization.CultureInfo.InvariantCulture);
            evt["publish_timestamp"] = evt["timestamp"]!.DeepClone();
            evt["date"] = oldest![..10];
            manifest[uuid] = new JsonObject
            {
                ["info"] = evt["info"]!.DeepClone(),
                ["Orgc"] = evt["Orgc"]!.DeepClone(),
                ["Tag"] = evt["Tag"]!.DeepClone(),
                ["analysis"] = evt["analysis"]!.DeepClone(),
                ["threat_level_id"] = evt["threat_level_id"]!.DeepClone(),
                ["date"] = evt["date"]!.DeepClone(),
                ["timestamp"] = evt["timestamp"]!.DeepClone(),
                ["published"] = true,
            };
            foreach (var attribute in list.Where(a => !(bool)a!["deleted"]!))
            {
#pragma warning disable CA5351 // hashes.csv is MISP's feed format: MD5 of the value as a cache key, not a security function.
                var md5 = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes((string)attribute!["value"]!)));
#pragma warning restore CA5351
                hashes.Append(md5).Append(',').Append(uuid).Append('\n');
            }

            await WriteAsync(Path.Combine(folder, uuid + ".json"), new JsonObject { ["Event"] = evt }, ct).ConfigureAwait(false);
        }

        await WriteAsync(Path.Combine(folder, "manifest.json"), manifest, ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(folder, "hashes.csv"), hashes.ToString(), ct).ConfigureAwait(false);
        return (events.Count, attributes);
    }

    private static JsonObject NewEvent(string uuid, string origin, Tlp tlp) => new()
    {
        ["uuid"] = uuid,
        ["info"] = "CyberCoop: indicators originated by " + origin + " (" + MispTypes.TlpTag(tlp).ToUpperInvariant() + ")",
        ["analysis"] = "2",
        ["threat_level_id"] = "4",
        ["published"] = true,
        ["Orgc"] = new JsonObject { ["name"] = origin, ["uuid"] = Uuid("misp-org:" + origin) },
        ["Tag"] = new JsonArray(Tag(MispTypes.TlpTag(tlp))),
        ["Attribute"] = new JsonArray(),
    };

    /// <summary>
    /// A MISP tag object. Typed JsonNode, as is <see cref="Attribute"/>: JsonArray.Add(JsonObject) binds to the generic
    /// Add&lt;T&gt;, which needs reflection (IL2026/IL3050 under trimming and Native AOT); Add(JsonNode) does not.
    /// </summary>
    private static JsonNode Tag(string name) => new JsonObject { ["name"] = name };

    /// <summary>
    /// One attribute. Withdrawn by its origin: <c>deleted: true</c> (MISP's soft deletion, which a feed pull applies to
    /// the attribute it already holds; MISP and the CyberCoop agent ignore deleted attributes) with the withdrawal's
    /// timestamp, so the event is newer and is fetched again. Expired: kept, <c>to_ids: false</c> (MISP has no
    /// valid-until; context, no longer for detection).
    /// </summary>
    private static JsonNode Attribute(ExportedView exported)
    {
        var (origin, indicator) = (exported.Origin, exported.View);
        var stix = exported.ToStix();
        var (type, category) = MispTypes.Of(indicator.Type);
        var json = stix.Json;
        var withdrawn = exported.Withdrawal is not null;
        var tags = new JsonArray(Tag(MispTypes.TlpTag(indicator.Tlp)));
        tags.Add(Tag(MispTypes.TagPrefix + "confidence=\"" + (int)json["confidence"]! + "\""));
        if (indicator.Type == IndicatorType.Ja4)
        {
            tags.Add(Tag(MispTypes.TagPrefix + "type=\"ja4\""));
        }

        foreach (var tag in indicator.Tags)
        {
            tags.Add(Tag(tag));
        }

        foreach (var sector in indicator.Sectors)
        {
            tags.Add(Tag(MispTypes.TagPrefix + "sector=\"" + sector + "\""));
        }

        var modified = stix.Modified.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var attribute = new JsonObject
        {
            ["uuid"] = Uuid("misp-attribute:" + origin + ":" + indicator.Id),
            ["type"] = type,
            ["category"] = category,
            ["value"] = indicator.Value,
            ["to_ids"] = !exported.Expired && !withdrawn && indicator.Type != IndicatorType.Cve,
            ["deleted"] = withdrawn,
            ["disable_correlation"] = false,
            ["timestamp"] = modified,
            ["first_seen"] = (string)json["created"]!,
            ["last_seen"] = (string)json["modified"]!,
            ["comment"] = withdrawn ? "withdrawn by " + origin + ": " + exported.Withdrawal!.Reason : indicator.Description,
            ["Tag"] = tags,
        };
        return attribute;
    }

    private static string Uuid(string name) => IndicatorIds.ComputeV5(Namespace, Encoding.UTF8.GetBytes(name)).ToString("D");

    private static async Task WriteAsync(string path, JsonNode node, CancellationToken ct)
    {
        var temp = path + ".tmp";
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await JsonSerializer.SerializeAsync(stream, node, InteropJsonContext.Default.JsonNode, ct).ConfigureAwait(false);
        }

        File.Move(temp, path, overwrite: true);
    }
}
