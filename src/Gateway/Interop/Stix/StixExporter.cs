using System.Text.Json.Nodes;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>
/// Maps stored indicators to STIX 2.1 objects. One object per (indicator, origin trust domain): only what that origin
/// attests (<see cref="Views"/>: this node's origin view for its own domain, a peer's observations otherwise) created by
/// that origin's <c>identity</c>, which names the
/// trust domain only — never a gateway, agent or sensor name. Sensor names, observation counts and observation context
/// (which may hold internal host names) are never exported. Ids are deterministic (<see cref="StixIds"/>).
/// </summary>
internal static class StixExporter
{
    /// <summary>The <c>created</c>/<c>modified</c> of every origin identity (fixed so re-exports are identical).</summary>
    public static readonly DateTimeOffset IdentityCreated = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// What each origin attests of a stored indicator, as an indicator holding that origin's content only (the rule of
    /// docs/interoperability.md, "Whose content an object carries"):
    /// <list type="bullet">
    /// <item>This node's own domain: the origin view (own sightings only, <see cref="GatewayStore.ReadAllViewsAsync"/>),
    /// never the merged record; none when no own agent reported it, whatever observations naming this domain the
    /// merged record holds (they came from peers).</item>
    /// <item>Another domain: its observations (confidence, first/last seen) and, only when it is the sole contributor
    /// to the merged record, the record-level fields (tags, description, sectors, valid_until); otherwise those are
    /// omitted, since a merged record cannot say which source contributed them.</item>
    /// <item>TLP: the merged record's (the maximum of every contribution) or higher, never lower.</item>
    /// </list>
    /// </summary>
    public static IEnumerable<(string Origin, Indicator View)> Views(StoredViews stored, string ownDomain)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentException.ThrowIfNullOrEmpty(ownDomain);
        var merged = stored.Merged;
        var origins = new SortedSet<string>(StringComparer.Ordinal);
        var unattributed = false;
        foreach (var observation in merged.Observations)
        {
            if (observation.Node.Length > 0)
            {
                origins.Add(SightingValidator.TrustDomainOf(observation.Node));
            }
            else
            {
                unattributed = true;
            }
        }

        if (origins.Count == 0 && merged.OriginDomain.Length > 0)
        {
            origins.Add(merged.OriginDomain);
        }

        if (stored.OwnView is not null)
        {
            origins.Add(ownDomain);
        }

        foreach (var origin in origins)
        {
            if (string.Equals(origin, ownDomain, StringComparison.Ordinal))
            {
                if (stored.OwnView is { } own)
                {
                    var view = own.Clone();
                    view.Tlp = Max(own.Tlp, merged.Tlp);
                    yield return (origin, view);
                }

                continue;
            }

            var sole = stored.OwnView is null && !unattributed && origins.Count == 1
                && (merged.OriginDomain.Length == 0 || string.Equals(merged.OriginDomain, origin, StringComparison.Ordinal));
            yield return (origin, sole ? merged.Clone() : ObservedBy(merged, origin));
        }
    }

    /// <summary>
    /// An origin's part of a record it shares with others: identity, TLP and its own observations only (the
    /// exported confidence and first/last seen are computed from these); no tags, description, sectors or validity.
    /// </summary>
    private static Indicator ObservedBy(Indicator merged, string origin)
    {
        var view = new Indicator
        {
            Id = merged.Id,
            Type = merged.Type,
            Value = merged.Value,
            Tlp = merged.Tlp,
            OriginDomain = origin,
        };
        foreach (var observation in merged.Observations)
        {
            if (observation.Node.Length > 0 && string.Equals(SightingValidator.TrustDomainOf(observation.Node), origin, StringComparison.Ordinal))
            {
                view.Observations.Add(observation.Clone());
            }
        }

        return view;
    }

    private static Tlp Max(Tlp a, Tlp b) => a > b ? a : b;

    /// <summary>The identity object of an origin trust domain.</summary>
    public static StixObject Identity(string originDomain)
    {
        ArgumentException.ThrowIfNullOrEmpty(originDomain);
        var id = StixIds.Identity(originDomain);
        var json = new JsonObject
        {
            ["type"] = "identity",
            ["spec_version"] = "2.1",
            ["id"] = id,
            ["created"] = StixTime.Format(IdentityCreated),
            ["modified"] = StixTime.Format(IdentityCreated),
            ["name"] = originDomain,
            ["description"] = "CyberCoop trust domain " + originDomain + " (the national node that originated the content).",
            ["identity_class"] = "organization",
        };
        return new StixObject(id, "identity", IdentityCreated, json);
    }

    /// <summary>
    /// The STIX <c>sighting</c> of what an allied nation reported back about this node's object
    /// <paramref name="sightingOfRef"/> (its own-domain indicator or vulnerability): <c>count</c> (capped at STIX's
    /// 999,999,999), <c>first_seen</c>/<c>last_seen</c>, <c>where_sighted_refs</c> and <c>created_by_ref</c> the
    /// reporting nation's identity (a trust domain, never a sensor or host), its sectors when it reported them, marked
    /// with the sighted object's TLP. <c>modified</c> is when its newest report arrived (a new report is a new version).
    /// </summary>
    public static StixObject Sighting(SightingsBack back, string sightingOfRef, Tlp tlp)
    {
        ArgumentNullException.ThrowIfNull(back);
        var reporter = SightingValidator.TrustDomainOf(back.Reporter);
        var id = StixIds.Sighting(reporter, sightingOfRef);
        var first = StixTime.Truncate(back.FirstSeen);
        var last = StixTime.Truncate(back.LastSeen < back.FirstSeen ? back.FirstSeen : back.LastSeen);
        var created = first;
        var modified = StixTime.Truncate(back.LastReceived);
        modified = modified < created ? created : modified;
        var json = new JsonObject
        {
            ["type"] = "sighting",
            ["spec_version"] = "2.1",
            ["id"] = id,
            ["created_by_ref"] = StixIds.Identity(reporter),
            ["created"] = StixTime.Format(created),
            ["modified"] = StixTime.Format(modified),
            ["first_seen"] = StixTime.Format(first),
            ["last_seen"] = StixTime.Format(last),
            ["count"] = (int)Math.Min(back.Count, 999_999_999),
            ["sighting_of_ref"] = sightingOfRef,
            ["where_sighted_refs"] = new JsonArray(StixIds.Identity(reporter)),
            ["summary"] = false,
            ["object_marking_refs"] = new JsonArray(StixMarkings.IdOf(tlp)),
        };
        if (back.Sectors.Count > 0)
        {
            json["x_cybercoop_sectors"] = new JsonArray([.. back.Sectors.Select(s => (JsonNode)JsonValue.Create(s)!)]);
        }

        return new StixObject(id, "sighting", modified, json, reporter);
    }

    /// <summary>The official OASIS TLP 2.0 marking-definition object of a level.</summary>
    public static StixObject Marking(Tlp tlp)
    {
        var id = StixMarkings.IdOf(tlp);
        var json = new JsonObject
        {
            ["type"] = "marking-definition",
            ["spec_version"] = "2.1",
            ["id"] = id,
            ["created"] = StixMarkings.Tlp2Created,
            ["name"] = "TLP:" + TlpNames.ToName(tlp),
            ["extensions"] = new JsonObject
            {
                [StixMarkings.Tlp2ExtensionId] = new JsonObject
                {
                    ["extension_type"] = "property-extension",
                    ["tlp_2_0"] = StixMarkings.LevelOf(tlp),
                },
            },
        };
        return new StixObject(id, "marking-definition", new DateTimeOffset(2022, 10, 1, 0, 0, 0, TimeSpan.Zero), json);
    }

    /// <summary>
    /// The object of one origin's view (from <see cref="Views"/>): an <c>indicator</c>, or a <c>vulnerability</c> for a
    /// CVE. <paramref name="revokedAt"/> is set when the origin withdrew it (<see cref="ExportLifecycle"/>): the object
    /// is then <c>revoked: true</c>, a new version whose <c>modified</c> is the withdrawal time if that is later than
    /// the last sighting (STIX 2.1 §3.6: a revoked object is a new version of it).
    /// </summary>
    public static StixObject ObjectFor(Indicator indicator, string origin, DateTimeOffset? revokedAt = null)
    {
        var (firstSeen, lastSeen, confidence) = OriginView(indicator, origin);
        var created = StixTime.Truncate(firstSeen);
        var modified = StixTime.Truncate(lastSeen < firstSeen ? firstSeen : lastSeen);
        if (revokedAt is { } at && StixTime.Truncate(at) > modified)
        {
            modified = StixTime.Truncate(at);
        }

        var isCve = indicator.Type == IndicatorType.Cve;
        var pattern = isCve ? null : StixPatterns.For(indicator.Type, indicator.Value);
        if (!isCve && pattern is null)
        {
            throw new ArgumentException($"indicator {indicator.Id} of type {indicator.Type} has no STIX pattern", nameof(indicator));
        }

        var type = isCve ? "vulnerability" : "indicator";
        var id = isCve ? StixIds.Vulnerability(origin, indicator.Value) : StixIds.Indicator(origin, indicator.Id);
        var json = new JsonObject
        {
            ["type"] = type,
            ["spec_version"] = "2.1",
            ["id"] = id,
            ["created_by_ref"] = StixIds.Identity(origin),
            ["created"] = StixTime.Format(created),
            ["modified"] = StixTime.Format(modified),
            ["name"] = indicator.Value,
        };
        if (indicator.Description.Length > 0)
        {
            json["description"] = indicator.Description;
        }

        if (!isCve)
        {
            json["pattern"] = pattern;
            json["pattern_type"] = "stix";
            json["pattern_version"] = "2.1";
            var validFrom = created;
            if (indicator.ValidUntil is not null)
            {
                var until = StixTime.Truncate(indicator.ValidUntil.ToDateTimeOffset());
                if (until <= validFrom)
                {
                    // STIX requires valid_until > valid_from; an indicator that expired before it was first seen
                    // is still exported as expired rather than as valid forever.
                    validFrom = until.AddMilliseconds(-1);
                }

                json["valid_from"] = StixTime.Format(validFrom);
                json["valid_until"] = StixTime.Format(until);
            }
            else
            {
                json["valid_from"] = StixTime.Format(validFrom);
            }
        }

        if (revokedAt is not null)
        {
            json["revoked"] = true;
        }

        json["confidence"] = (int)Math.Min(100u, confidence);
        if (indicator.Tags.Count > 0)
        {
            json["labels"] = new JsonArray([.. indicator.Tags.Select(t => (JsonNode)JsonValue.Create(t)!)]);
        }

        var references = new JsonArray();
        if (isCve)
        {
            references.Add(CveReference(indicator.Value));
        }

        foreach (var tag in indicator.Tags)
        {
            if (CveTag.TryNormalize(tag, out var cve))
            {
                references.Add(CveReference(cve));
            }
        }

        if (references.Count > 0)
        {
            json["external_references"] = references;
        }

        json["object_marking_refs"] = new JsonArray(StixMarkings.IdOf(indicator.Tlp));
        json["x_cybercoop_indicator_id"] = indicator.Id;
        json["x_cybercoop_type"] = IndicatorTypeNames.ToName(indicator.Type);
        if (indicator.Sectors.Count > 0)
        {
            json["x_cybercoop_sectors"] = new JsonArray([.. indicator.Sectors.Select(s => (JsonNode)JsonValue.Create(s)!)]);
        }

        return new StixObject(id, type, modified, json, origin);
    }

    // Returns JsonNode, not JsonObject: JsonArray.Add(JsonObject) binds to the generic Add<T>, which needs reflection
    // (IL2026/IL3050 under trimming and Native AOT); Add(JsonNode) does not.
    private static JsonNode CveReference(string cve) => new JsonObject
    {
        ["source_name"] = "cve",
        ["external_id"] = cve,
        ["url"] = "https://www.cve.org/CVERecord?id=" + cve,
    };

    private static (DateTimeOffset First, DateTimeOffset Last, uint Confidence) OriginView(Indicator indicator, string origin)
    {
        DateTimeOffset? first = null, last = null;
        uint confidence = 0;
        var any = false;
        foreach (var observation in indicator.Observations)
        {
            if (observation.Node.Length == 0 || !string.Equals(SightingValidator.TrustDomainOf(observation.Node), origin, StringComparison.Ordinal))
            {
                continue;
            }

            any = true;
            confidence = Math.Max(confidence, observation.Confidence);
            first = Min(first, observation.FirstSeen);
            last = Max(last, observation.LastSeen ?? observation.FirstSeen);
        }

        if (!any)
        {
            confidence = indicator.Confidence;
        }

        var f = first ?? indicator.FirstSeen?.ToDateTimeOffset() ?? indicator.LastSeen?.ToDateTimeOffset() ?? IdentityCreated;
        var l = last ?? indicator.LastSeen?.ToDateTimeOffset() ?? f;
        return (f, l, confidence);
    }

    private static DateTimeOffset? Min(DateTimeOffset? current, Timestamp? candidate) =>
        candidate is null ? current : current is null || candidate.ToDateTimeOffset() < current ? candidate.ToDateTimeOffset() : current;

    private static DateTimeOffset? Max(DateTimeOffset? current, Timestamp? candidate) =>
        candidate is null ? current : current is null || candidate.ToDateTimeOffset() > current ? candidate.ToDateTimeOffset() : current;
}
