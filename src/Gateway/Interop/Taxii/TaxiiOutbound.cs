using System.Text.Json;
using System.Text.Json.Nodes;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Interop.Stix;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Stix;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// The write side of the TAXII server: the objects of an envelope POSTed to the "outbound" collection become
/// sightings of this node, through the same path as an agent's batch — <see cref="SightingValidator"/>, one
/// <see cref="Storage.GatewayStore.CommitIngestAsync"/> transaction (the own view, the change feed), then the
/// outbound dispatcher, which applies the outbound policy per peer exactly as for agents' sightings. Indicators whose
/// pattern names simple values are taken (the same pattern mapping as the agent's <c>stix</c> source,
/// <see cref="StixPatternMapping"/>); every other object is a per-object failure with the reason, the rest is kept.
/// </summary>
internal sealed class TaxiiOutbound(
    ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, IIngestStore ingestStore, NodeMetrics nodeMetrics, TimeProvider time,
    OutboundDispatcher? dispatcher = null)
{
    /// <summary>Most objects in one envelope (an agent batch's limit).</summary>
    public const int MaxObjects = Ingest.IngestService.MaxBatchItems;

    /// <summary>
    /// Validates and commits the envelope's indicators as sightings of analyst <paramref name="caller"/>; returns the
    /// status resource (always complete: the commit is done before the answer).
    /// </summary>
    public async Task<JsonObject> PostAsync(JsonElement envelope, TaxiiCaller caller, Guid statusId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var requested = time.GetUtcNow();
        if (envelope.ValueKind != JsonValueKind.Object || !envelope.TryGetProperty("objects", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new TaxiiError(400, "Bad Request", "the body must be a TAXII envelope: an object with an \"objects\" array");
        }

        var objects = list.EnumerateArray().ToList();
        if (objects.Count == 0)
        {
            throw new TaxiiError(400, "Bad Request", "objects: empty");
        }

        if (objects.Count > MaxObjects)
        {
            throw new TaxiiError(413, "Payload Too Large", $"objects: at most {MaxObjects} per request (was {objects.Count}); split the envelope");
        }

        var markings = Markings(objects);
        var successes = new JsonArray();
        var failures = new JsonArray();
        var validator = new SightingValidator(time, Lifecycle.ExpiryPolicy.DefaultLifetimes(trustSnapshot.Current.Config.Config.Node.Expiry));
        var agentName = "taxii-" + caller.Name;
        var items = new List<ValidationOutcome>();
        var owners = new List<(int Object, string Id, string Version)>();
        var pending = new Dictionary<int, (string Id, string Version, int Items, List<string> Errors)>();
        for (var i = 0; i < objects.Count; i++)
        {
            var obj = objects[i];
            var (id, version) = (Str(obj, "id") ?? "", Str(obj, "modified") ?? Str(obj, "created") ?? "");
            var refusal = Sightings(obj, markings, out var sightings);
            if (refusal is not null)
            {
                failures.Add(Status(id, version, refusal));
                continue;
            }

            if (sightings.Count == 0)
            {
                successes.Add(Status(id, version, "taken as a reference for the other objects; not stored"));
                continue;
            }

            pending[i] = (id, version, sightings.Count, []);
            foreach (var sighting in sightings)
            {
                items.Add(validator.Validate(sighting, identitySource.Current.IdText, agentName));
                owners.Add((i, id, version));
            }
        }

        if (items.Count > 0)
        {
            // The status id is the batch id: the commit is recorded once under (analyst, id), like an agent's batch.
            var commit = await ingestStore.CommitIngestAsync(CallerId(caller), statusId.ToByteArray(), items, ct).ConfigureAwait(false);
            var stored = 0;
            foreach (var result in commit.Results)
            {
                var owner = owners[(int)result.Index];
                if (result.Outcome == ItemOutcome.Rejected)
                {
                    pending[owner.Object].Errors.Add(result.Reason);
                }
                else
                {
                    stored++;
                }
            }

            nodeMetrics.AddIngested(stored, items.Count - stored);
            dispatcher?.Notify();
        }

        foreach (var (_, (id, version, count, errors)) in pending.OrderBy(p => p.Key))
        {
            if (errors.Count == 0)
            {
                successes.Add(Status(id, version, count == 1 ? "stored as a sighting of this node" : $"stored as {count} sightings of this node"));
            }
            else
            {
                failures.Add(Status(id, version, "refused by validation: " + string.Join("; ", errors.Distinct(StringComparer.Ordinal))));
            }
        }

        return new JsonObject
        {
            ["id"] = statusId.ToString("D"),
            ["status"] = "complete",
            ["request_timestamp"] = StixTime.Format(StixTime.Truncate(requested)),
            ["total_count"] = objects.Count,
            ["success_count"] = successes.Count,
            ["successes"] = successes,
            ["failure_count"] = failures.Count,
            ["failures"] = failures,
            ["pending_count"] = 0,
            ["pendings"] = new JsonArray(),
        };
    }

    /// <summary>The caller id the ingest records batches under (an analyst of this domain).</summary>
    private string CallerId(TaxiiCaller caller) => $"spiffe://{identitySource.Current.Id.TrustDomain}/analyst/{caller.Name}";

    /// <summary>
    /// The sightings an object names (none for an identity or marking definition, taken as references), or why it is
    /// refused.
    /// </summary>
    private static string? Sightings(JsonElement obj, Dictionary<string, Tlp> markings, out List<Sighting> sightings)
    {
        sightings = [];
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return "not a STIX object";
        }

        var type = Str(obj, "type");
        if (Str(obj, "id") is not { } id || type is null || !id.StartsWith(type + "--", StringComparison.Ordinal))
        {
            return "not a STIX object: type and id (\"<type>--<uuid>\") are required";
        }

        if (Str(obj, "spec_version") != "2.1")
        {
            return "spec_version: only STIX 2.1 is accepted";
        }

        switch (type)
        {
            case "identity" or "marking-definition":
                return null;
            case "indicator":
                break;
            default:
                return $"type {Truncate(type)}: not accepted (the outbound collection takes indicators; identities and marking definitions as references)";
        }

        if (obj.TryGetProperty("revoked", out var revoked) && revoked.ValueKind == JsonValueKind.True)
        {
            return "revoked: a revoked indicator is not shared (withdraw an indicator this node originated with `indicators withdraw`)";
        }

        if ((Str(obj, "pattern_type") ?? "stix") != "stix")
        {
            return $"pattern_type {Truncate(Str(obj, "pattern_type")!)}: only stix patterns are supported";
        }

        if (Str(obj, "pattern") is not { } pattern)
        {
            return "pattern: required";
        }

        var found = new List<(IndicatorType Type, string Value, List<KeyValuePair<string, string>> Context)>();
        try
        {
            var why = StixPatternMapping.Extract(StixPattern.Parse(pattern), found, IndicatorTypeGuess);
            if (found.Count == 0)
            {
                return "pattern not supported: " + (why ?? "it names no indicator value");
            }
        }
        catch (FormatException ex)
        {
            return "pattern does not parse: " + ex.Message;
        }

        var tlp = Tlp.Unspecified;
        if (obj.TryGetProperty("object_marking_refs", out var refs) && refs.ValueKind == JsonValueKind.Array)
        {
            foreach (var marking in refs.EnumerateArray())
            {
                if (marking.ValueKind == JsonValueKind.String && marking.GetString() is { } markingId)
                {
                    var level = markings.TryGetValue(markingId, out var inBundle) ? inBundle : StixPatternMapping.WellKnownTlp(markingId);
                    tlp = level > tlp ? level : tlp;
                }
            }
        }

        // An unmarked object is AMBER (SightingValidator's default): never shared wider than the analyst could mean.
        var observed = Time(obj, "valid_from") ?? Time(obj, "modified") ?? Time(obj, "created");
        var until = Time(obj, "valid_until");
        foreach (var (valueType, value, context) in found)
        {
            var sighting = new Sighting
            {
                Type = valueType,
                Value = value,
                Tlp = tlp,
                Confidence = obj.TryGetProperty("confidence", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetUInt32(out var confidence) ? confidence : 50,
                ObservedAt = observed is { } at ? Timestamp.FromDateTimeOffset(at) : null,
                ValidUntil = until is { } u ? Timestamp.FromDateTimeOffset(u) : null,
                Sensor = "taxii",
                Description = Str(obj, "description") ?? "",
            };
            foreach (var label in Strings(obj, "labels").Concat(Strings(obj, "indicator_types")))
            {
                sighting.Tags.Add(label);
            }

            foreach (var sector in Strings(obj, "x_cybercoop_sectors"))
            {
                sighting.Sectors.Add(sector);
            }

            foreach (var (key, text) in context)
            {
                sighting.Context.Add(key, text);
            }

            sightings.Add(sighting);
        }

        return null;
    }

    /// <summary>TLP levels of the TLP marking definitions inside the envelope (TLP 2.0 extension or "TLP:x" name).</summary>
    private static Dictionary<string, Tlp> Markings(List<JsonElement> objects)
    {
        var markings = new Dictionary<string, Tlp>(StringComparer.Ordinal);
        foreach (var obj in objects)
        {
            if (obj.ValueKind == JsonValueKind.Object && Str(obj, "type") == "marking-definition" && Str(obj, "id") is { } id
                && Str(obj, "name") is { } name && name.StartsWith("TLP:", StringComparison.OrdinalIgnoreCase)
                && TlpNames.TryParse(name[4..], out var tlp))
            {
                markings[id] = tlp;
            }
        }

        return markings;
    }

    private static IndicatorType IndicatorTypeGuess(string value) =>
        System.Net.IPAddress.TryParse(value, out var address)
            ? address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IndicatorType.Ipv6 : IndicatorType.Ipv4
            : IndicatorType.Unspecified;

    // Returns JsonNode, not JsonObject: JsonArray.Add(JsonObject) binds to the generic Add<T>, which needs reflection
    // (IL2026/IL3050 under trimming and Native AOT); Add(JsonNode) does not.
    private static JsonNode Status(string id, string version, string message)
    {
        var status = new JsonObject { ["id"] = Truncate(id) };
        if (version.Length > 0)
        {
            status["version"] = Truncate(version);
        }

        status["message"] = message;
        return status;
    }

    private static string? Str(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static IEnumerable<string> Strings(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).Where(s => s.Length is > 0 and <= 64)
            : [];

    private static DateTimeOffset? Time(JsonElement obj, string name) =>
        Str(obj, name) is { } text && StixTime.TryParse(text, out var at) ? at : null;

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
