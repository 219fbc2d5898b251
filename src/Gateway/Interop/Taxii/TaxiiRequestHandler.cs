using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Interop.Stix;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// TAXII 2.1 (OASIS Standard, 10 June 2021) endpoints: POST to the outbound collection (TaxiiOutbound) and status; discovery (/taxii2/), the API root (/cybercoop/),
/// collections, objects, one object, its versions and the manifest, with added_after, match[type|id|version|
/// spec_version], limit and next paging. Every refusal is a TAXII error message; no request gets a stack trace.
/// </summary>
internal sealed partial class TaxiiRequestHandler(
    TaxiiConfig config, ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, IIndicatorStore indicatorStore, IExportStore exportStore,
    ILifecycleStore lifecycleStore, ITaxiiStatusStore statusStore, TimeProvider time, TaxiiAuthenticator authenticator, TaxiiOutbound outbound,
    ILogger<TaxiiServer> log)
{
    public const string ApiRoot = "cybercoop";

    /// <summary>Largest request body (the API root's max_content_length; Kestrel refuses larger bodies too).</summary>
    public const int MaxContentLength = 1 << 20;

    private readonly TaxiiStatusStore _statuses = new(statusStore, time);

    public async Task HandleAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        try
        {
            if (!TaxiiMedia.Acceptable(context.Request.Headers.Accept.ToString()))
            {
                throw new TaxiiError(406, "Not Acceptable", "this server answers " + TaxiiMedia.Taxii);
            }

            var caller = await authenticator.AuthenticateAsync(context, ct).ConfigureAwait(false);
            var segments = context.Request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
            if (!context.Request.Path.Value!.EndsWith('/'))
            {
                throw NotFound("TAXII 2.1 URLs end with '/'");
            }

            var get = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
            switch (segments)
            {
                case ["taxii2"] when get:
                    await WriteAsync(context, Discovery(context), ct).ConfigureAwait(false);
                    return;
                case [ApiRoot] when get:
                    await WriteAsync(context, ApiRootResource(), ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "collections"] when get:
                    await WriteAsync(context, new JsonObject { ["collections"] = new JsonArray([.. Collections().Select(c => (JsonNode)Resource(c, caller))]) }, ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "collections", var id] when get:
                    await WriteAsync(context, Resource(Collection(id), caller), ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "collections", var id, "objects"] when get:
                    await ObjectsAsync(context, Readable(id), caller, objectId: null, ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "collections", var id, "objects"] when HttpMethods.IsPost(context.Request.Method):
                    await PostAsync(context, Collection(id), caller, ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "collections", var id, "objects", var objectId] when get:
                    await ObjectsAsync(context, Readable(id), caller, objectId, ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "collections", var id, "objects", var objectId, "versions"] when get:
                    await VersionsAsync(context, Readable(id), caller, objectId, ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "collections", var id, "manifest"] when get:
                    await ManifestAsync(context, Readable(id), caller, ct).ConfigureAwait(false);
                    return;
                case [ApiRoot, "status", var statusId] when get:
                    await WriteAsync(context, Guid.TryParse(statusId, out var sid) && await _statuses.FindAsync(sid, caller.Name, ct).ConfigureAwait(false) is { } status
                        ? status
                        : throw NotFound("no status resource with this id for you (statuses are kept 24 hours)"), ct).ConfigureAwait(false);
                    return;
                case ["taxii2"] or [ApiRoot, ..]:
                    throw new TaxiiError(405, "Method Not Allowed", $"{context.Request.Method} is not served here");
                default:
                    throw NotFound("no TAXII resource at this path (discovery is /taxii2/)");
            }
        }
        catch (TaxiiError error)
        {
            await WriteErrorAsync(context, error).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Client went away.
        }
#pragma warning disable CA1031 // A request must never see a stack trace: anything unexpected is logged and answered with a TAXII 500 body.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Failed(log, ex, context.Request.Path.Value ?? "");
            await WriteErrorAsync(context, new TaxiiError(500, "Internal Server Error", "the server could not answer this request; see the node's log")).ConfigureAwait(false);
        }
    }

    private JsonObject Discovery(HttpContext context) => new()
    {
        ["title"] = "CyberCoop node " + identitySource.Current.Id.TrustDomain,
        ["description"] = "Threat indicators held by this CyberCoop node, one collection per origin (STIX 2.1).",
        ["default"] = $"https://{context.Request.Host}/{ApiRoot}/",
        ["api_roots"] = new JsonArray($"https://{context.Request.Host}/{ApiRoot}/"),
    };

    private JsonObject ApiRootResource() => new()
    {
        ["title"] = "CyberCoop " + identitySource.Current.Id.TrustDomain,
        ["description"] = "Read collections: our own, all received, and one per allied origin; a write-only outbound collection for analysts allowed to share.",
        ["versions"] = new JsonArray(TaxiiMedia.Taxii),
        ["max_content_length"] = MaxContentLength,
    };

    private List<TaxiiCollection> Collections()
    {
        var current = trustSnapshot.Current.Config.Config;
        var allies = new List<string>();
        foreach (var peer in current.Peers)
        {
            if (SpiffeId.TryParse(peer.Id, out var id, out _))
            {
                allies.Add(id.TrustDomain);
            }
        }

        allies.AddRange(current.TrustedOrigins.Select(o => o.TrustDomain));
        return [.. TaxiiCollection.For(identitySource.Current.Id.TrustDomain, allies)];
    }

    private TaxiiCollection Collection(string id) =>
        Collections().FirstOrDefault(c => string.Equals(c.Id, id, StringComparison.OrdinalIgnoreCase))
        ?? throw NotFound($"no collection '{Truncate(id)}'");

    /// <summary>A collection that may be read (every one but the write-only outbound collection).</summary>
    private TaxiiCollection Readable(string id)
    {
        var collection = Collection(id);
        return collection.Outbound
            ? throw new TaxiiError(403, "Forbidden", "the outbound collection is write-only (can_read: false): POST indicators to it")
            : collection;
    }

    private static JsonObject Resource(TaxiiCollection collection, TaxiiCaller caller) => new()
    {
        ["id"] = collection.Id,
        ["title"] = collection.Title,
        ["description"] = collection.Description,
        ["can_read"] = !collection.Outbound,
        ["can_write"] = collection.Outbound && caller.CanWrite,
        ["media_types"] = new JsonArray(TaxiiMedia.Stix),
    };

    /// <summary>
    /// POST to a collection (TAXII 2.1 §5.5): only to the outbound collection, only by an analyst with
    /// <c>canWrite</c>, only a TAXII envelope of at most <see cref="MaxContentLength"/> bytes; answered 202 with the
    /// status resource after the objects were committed.
    /// </summary>
    private async Task PostAsync(HttpContext context, TaxiiCollection collection, TaxiiCaller caller, CancellationToken ct)
    {
        if (!collection.Outbound)
        {
            throw new TaxiiError(403, "Forbidden", "this collection is read-only (can_write: false); POST to the outbound collection");
        }

        if (!caller.CanWrite)
        {
            Denied(log, caller.Name);
            throw new TaxiiError(403, "Forbidden", $"analyst '{caller.Name}' may read only (taxii.analysts[].canWrite is not set)");
        }

        if (!TaxiiMedia.IsTaxiiContent(context.Request.ContentType))
        {
            throw new TaxiiError(415, "Unsupported Media Type", "the body must be " + TaxiiMedia.Taxii);
        }

        if (context.Request.ContentLength > MaxContentLength)
        {
            throw new TaxiiError(413, "Payload Too Large", $"at most {MaxContentLength} bytes per request (max_content_length)");
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 32 }, ct).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new TaxiiError(400, "Bad Request", "the body is not JSON: " + ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new TaxiiError(413, "Payload Too Large", $"at most {MaxContentLength} bytes per request (max_content_length)");
        }

        using (document)
        {
            var id = Guid.NewGuid();
            var status = await outbound.PostAsync(document.RootElement, caller, id, ct).ConfigureAwait(false);
            await _statuses.AddAsync(id, caller.Name, status, ct).ConfigureAwait(false);
            Posted(log, caller.Name, (int)status["success_count"]!, (int)status["failure_count"]!);
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            context.Response.ContentType = TaxiiMedia.Taxii;
            await JsonSerializer.SerializeAsync(context.Response.Body, (JsonNode)status, InteropJsonContext.Default.JsonNode, ct).ConfigureAwait(false);
        }
    }

    private async Task ObjectsAsync(HttpContext context, TaxiiCollection collection, TaxiiCaller caller, string? objectId, CancellationToken ct)
    {
        var query = TaxiiQuery.Parse(context.Request.Query, config.MaxPageSize, objectId);
        var page = await PageAsync(collection, caller, query, ct).ConfigureAwait(false);
        if (objectId is not null && page.Items.Count == 0)
        {
            throw NotFound($"no object '{Truncate(objectId)}' in this collection (or not at your clearance)");
        }

        var envelope = new JsonObject { ["more"] = page.More };
        if (page.Next is not null)
        {
            envelope["next"] = page.Next;
        }

        if (page.Items.Count > 0)
        {
            envelope["objects"] = new JsonArray([.. page.Items.Select(i => i.Object.Json.DeepClone())]);
        }

        SetDateHeaders(context, page.Items);
        await WriteAsync(context, envelope, ct).ConfigureAwait(false);
    }

    private async Task ManifestAsync(HttpContext context, TaxiiCollection collection, TaxiiCaller caller, CancellationToken ct)
    {
        var query = TaxiiQuery.Parse(context.Request.Query, config.MaxPageSize, objectId: null);
        var page = await PageAsync(collection, caller, query, ct).ConfigureAwait(false);
        var manifest = new JsonObject { ["more"] = page.More };
        if (page.Next is not null)
        {
            manifest["next"] = page.Next;
        }

        if (page.Items.Count > 0)
        {
            manifest["objects"] = new JsonArray([.. page.Items.Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i.Object.Id,
                ["date_added"] = StixTime.Format(i.DateAdded),
                ["version"] = StixTime.Format(i.Object.Modified),
                ["media_type"] = TaxiiMedia.Stix,
            })]);
        }

        SetDateHeaders(context, page.Items);
        await WriteAsync(context, manifest, ct).ConfigureAwait(false);
    }

    private async Task VersionsAsync(HttpContext context, TaxiiCollection collection, TaxiiCaller caller, string objectId, CancellationToken ct)
    {
        var query = TaxiiQuery.Parse(context.Request.Query, config.MaxPageSize, objectId) with { Versions = TaxiiVersions.All };
        var page = await PageAsync(collection, caller, query, ct).ConfigureAwait(false);
        if (page.Items.Count == 0)
        {
            throw NotFound($"no object '{Truncate(objectId)}' in this collection (or not at your clearance)");
        }

        SetDateHeaders(context, page.Items);
        await WriteAsync(context, new JsonObject
        {
            ["more"] = page.More,
            ["versions"] = new JsonArray([.. page.Items.Select(i => (JsonNode)StixTime.Format(i.Object.Modified))]),
        }, ct).ConfigureAwait(false);
    }

    /// <summary>The caller's view of a collection, filtered and paged in (date_added, id) order.</summary>
    private async Task<TaxiiPage> PageAsync(TaxiiCollection collection, TaxiiCaller caller, TaxiiQuery query, CancellationToken ct)
    {
        var items = new List<TaxiiItem>();
        var origins = new SortedSet<string>(StringComparer.Ordinal);
        var levels = new SortedSet<Tlp>();
        var scanFrom = query.After is { } after ? after.DateAdded.AddMilliseconds(-1) : query.AddedAfter;
        var ownDomain = identitySource.Current.Id.TrustDomain;
        // Withdrawn: the origin's object as revoked (a new version, added when the withdrawal was recorded); suppressed
        // and expired: not served (ExportLifecycle).
        var lifecycle = await ExportLifecycle.ReadAsync(lifecycleStore, time.GetUtcNow(), ct).ConfigureAwait(false);
        await foreach (var (updatedAt, stored) in exportStore.ReadIndicatorsWithUpdateTimeAsync(scanFrom, ct).ConfigureAwait(false))
        {
            // Each object carries only its origin's content, at the merged record's TLP or higher (StixExporter.Views).
            foreach (var exported in lifecycle.Views(stored, ownDomain))
            {
                if (exported.View.Tlp > caller.Clearance || !collection.Holds(exported.Origin))
                {
                    continue; // TLP per analyst: above the clearance it does not exist for this caller
                }

                var added = exported.Withdrawal is { RecordedAt: var recorded } && recorded > updatedAt ? recorded : updatedAt;
                items.Add(new TaxiiItem(StixTime.Truncate(added), exported.ToStix()));
                if (exported.Withdrawal is not null && query.Versions != TaxiiVersions.Last)
                {
                    // The version before the withdrawal (same content, not revoked) is still one the node can produce;
                    // its date_added is its own modified time (when the origin last changed it).
                    var earlier = StixExporter.ObjectFor(exported.View, exported.Origin);
                    items.Add(new TaxiiItem(StixTime.Truncate(earlier.Modified), earlier));
                }
                origins.Add(exported.Origin);
                levels.Add(exported.View.Tlp);
            }
        }

        // What allied nations reported back about this node's own indicators (STIX sightings), in the collections that
        // hold the own domain's objects, dated when the newest report arrived, at the sighted object's TLP.
        if (collection.Holds(ownDomain))
        {
            foreach (var back in await exportStore.ReadSightingsBackAsync(scanFrom, ct).ConfigureAwait(false))
            {
                if (await indicatorStore.GetIndicatorAsync(back.IndicatorId, ct).ConfigureAwait(false) is not { } merged)
                {
                    continue;
                }

                var own = await indicatorStore.GetOwnViewAsync(back.IndicatorId, ct).ConfigureAwait(false);
                var sighted = lifecycle.Views(new Storage.StoredViews(merged, own), ownDomain).FirstOrDefault(v => v.Origin == ownDomain && v.Withdrawal is null);
                if (sighted is null || sighted.View.Tlp > caller.Clearance)
                {
                    continue;
                }

                var sighting = StixExporter.Sighting(back, sighted.ToStix().Id, sighted.View.Tlp);
                items.Add(new TaxiiItem(StixTime.Truncate(back.LastReceived), sighting));
                origins.Add(sighting.Origin!);
                levels.Add(sighted.View.Tlp);
            }
        }

        // What the objects refer to (their creators and TLP markings), dated at the start so a full pull gets them first.
        var epoch = StixExporter.IdentityCreated;
        if (query.AddedAfter is null || query.AddedAfter < epoch)
        {
            items.AddRange(origins.Select(o => new TaxiiItem(epoch, StixExporter.Identity(o))));
            items.AddRange(levels.Select(l => new TaxiiItem(epoch, StixExporter.Marking(l))));
        }

        var matching = items.Where(query.Matches);
        if (query.Versions == TaxiiVersions.First)
        {
            matching = matching.GroupBy(i => i.Object.Id, StringComparer.Ordinal).Select(g => g.MinBy(i => i.Object.Modified)!);
        }

        var filtered = matching.OrderBy(i => i.DateAdded).ThenBy(i => i.Object.Id, StringComparer.Ordinal).ThenBy(i => i.Object.Modified).ToList();
        var start = 0;
        if (query.After is { } cursor)
        {
            start = filtered.FindIndex(i => i.DateAdded > cursor.DateAdded || (i.DateAdded == cursor.DateAdded && string.CompareOrdinal(i.Object.Id, cursor.Id) > 0));
            start = start < 0 ? filtered.Count : start;
        }

        var pageItems = filtered.Skip(start).Take(query.Limit).ToList();
        var more = start + pageItems.Count < filtered.Count;
        var next = more ? TaxiiCursor.Encode(pageItems[^1]) : null;
        return new TaxiiPage(pageItems, more, next);
    }

    private static void SetDateHeaders(HttpContext context, IReadOnlyList<TaxiiItem> items)
    {
        if (items.Count > 0)
        {
            context.Response.Headers[TaxiiMedia.DateAddedFirst] = StixTime.Format(items.Min(i => i.DateAdded));
            context.Response.Headers[TaxiiMedia.DateAddedLast] = StixTime.Format(items.Max(i => i.DateAdded));
        }
    }

    private static async Task WriteAsync(HttpContext context, JsonNode body, CancellationToken ct)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = TaxiiMedia.Taxii;
        await JsonSerializer.SerializeAsync(context.Response.Body, body, InteropJsonContext.Default.JsonNode, ct).ConfigureAwait(false);
    }

    private static async Task WriteErrorAsync(HttpContext context, TaxiiError error)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = error.Status;
        context.Response.ContentType = TaxiiMedia.Taxii;
        if (error.Status == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"cybercoop-taxii\", charset=\"UTF-8\"";
        }

        var body = new JsonObject
        {
            ["title"] = error.Title,
            ["description"] = error.Description,
            ["http_status"] = error.Status.ToString(CultureInfo.InvariantCulture),
        };
        await JsonSerializer.SerializeAsync(context.Response.Body, (JsonNode)body, InteropJsonContext.Default.JsonNode, CancellationToken.None).ConfigureAwait(false);
    }

    private static TaxiiError NotFound(string why) => new(404, "Not Found", why);

    private static string Truncate(string text) => text.Length <= 100 ? text : text[..100] + "…";

    [LoggerMessage(EventId = 901, Level = LogLevel.Error, Message = "TAXII request for {Path} failed")]
    private static partial void Failed(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 902, Level = LogLevel.Information, Message = "TAXII outbound POST by analyst {Analyst}: {Succeeded} object(s) taken, {Failed} refused")]
    private static partial void Posted(ILogger logger, string analyst, int succeeded, int failed);

    [LoggerMessage(EventId = 903, Level = LogLevel.Warning, Message = "TAXII outbound POST refused: analyst {Analyst} may read only")]
    private static partial void Denied(ILogger logger, string analyst);
}

/// <summary>An object in a collection with the time it was added (its current version's date_added).</summary>
internal sealed record TaxiiItem(DateTimeOffset DateAdded, StixObject Object);

/// <summary>One page of a collection.</summary>
internal sealed record TaxiiPage(IReadOnlyList<TaxiiItem> Items, bool More, string? Next);

/// <summary>Which versions match[version] asks for.</summary>
internal enum TaxiiVersions
{
    Last,
    First,
    All,
    Specific,
}

/// <summary>The position after the last object of a page: opaque base64url of "&lt;date_added ticks&gt;|&lt;id&gt;".</summary>
internal sealed record TaxiiCursor(DateTimeOffset DateAdded, string Id)
{
    public static string Encode(TaxiiItem item) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(item.DateAdded.UtcTicks.ToString(CultureInfo.InvariantCulture) + "|" + item.Object.Id))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static TaxiiCursor Decode(string token)
    {
        try
        {
            if (token.Length > 400)
            {
                throw new FormatException("too long");
            }

            var padded = token.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(padded));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            var ticks = long.Parse(text.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture);
            return new TaxiiCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(bar + 1)..]);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
        {
            throw new TaxiiError(400, "Bad Request", "next: not a token this server issued");
        }
    }
}

/// <summary>The filters and paging of a TAXII 2.1 GET (section 3.4).</summary>
internal sealed record TaxiiQuery
{
    public DateTimeOffset? AddedAfter { get; init; }

    public TaxiiCursor? After { get; init; }

    public int Limit { get; init; }

    public IReadOnlySet<string>? Types { get; init; }

    public IReadOnlySet<string>? Ids { get; init; }

    public TaxiiVersions Versions { get; init; } = TaxiiVersions.Last;

    public IReadOnlyList<DateTimeOffset> SpecificVersions { get; init; } = [];

    public bool SpecVersionMatches { get; init; } = true;

    public static TaxiiQuery Parse(IQueryCollection query, int maxPage, string? objectId)
    {
        DateTimeOffset? addedAfter = null;
        if (query.TryGetValue("added_after", out var added))
        {
            if (!StixTime.TryParse(added.ToString(), out var parsed))
            {
                throw new TaxiiError(400, "Bad Request", "added_after: not an RFC 3339 timestamp");
            }

            addedAfter = parsed;
        }

        var limit = maxPage;
        if (query.TryGetValue("limit", out var limitText))
        {
            if (!int.TryParse(limitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1)
            {
                throw new TaxiiError(400, "Bad Request", "limit: a positive integer");
            }

            limit = Math.Min(limit, maxPage);
        }

        var ids = List(query, "match[id]");
        if (objectId is not null)
        {
            ids = new HashSet<string>(StringComparer.Ordinal) { objectId };
        }

        var versions = TaxiiVersions.Last;
        var specific = new List<DateTimeOffset>();
        foreach (var value in List(query, "match[version]") ?? new HashSet<string>())
        {
            switch (value)
            {
                case "last":
                    versions = versions == TaxiiVersions.Specific ? versions : TaxiiVersions.Last;
                    break;
                case "first":
                case "all":
                    versions = value == "all" ? TaxiiVersions.All : TaxiiVersions.First;
                    break;
                default:
                    if (!StixTime.TryParse(value, out var version))
                    {
                        throw new TaxiiError(400, "Bad Request", "match[version]: last, first, all or timestamps");
                    }

                    specific.Add(StixTime.Truncate(version));
                    versions = TaxiiVersions.Specific;
                    break;
            }
        }

        var specVersions = List(query, "match[spec_version]");
        return new TaxiiQuery
        {
            AddedAfter = addedAfter,
            After = query.TryGetValue("next", out var next) ? TaxiiCursor.Decode(next.ToString()) : null,
            Limit = limit,
            Types = List(query, "match[type]"),
            Ids = ids,
            Versions = versions,
            SpecificVersions = specific,
            SpecVersionMatches = specVersions is null || specVersions.Contains("2.1"),
        };
    }

    /// <summary>
    /// True when an item passes every filter. Items are the current version of each object, plus (unless only the last
    /// version is asked for) the version before a withdrawal; match[version]=first keeps the earliest per id afterwards.
    /// </summary>
    public bool Matches(TaxiiItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return SpecVersionMatches
            && (AddedAfter is null || item.DateAdded > AddedAfter)
            && (Types is null || Types.Contains(item.Object.Type))
            && (Ids is null || Ids.Contains(item.Object.Id))
            && (Versions != TaxiiVersions.Specific || SpecificVersions.Contains(item.Object.Modified));
    }

    private static HashSet<string>? List(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }

        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                set.Add(part);
            }
        }

        return set.Count == 0 ? throw new TaxiiError(400, "Bad Request", name + ": empty") : set;
    }
}
