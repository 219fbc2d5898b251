using CyberCoop.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Validates and normalizes one agent <see cref="Sighting"/> into an <see cref="Indicator"/> with a
/// deterministic id and one <see cref="Observation"/> for (this node, agent/sensor). Bad data yields a
/// rejection reason naming the field; it never throws for data (only for a broken caller).
/// </summary>
/// <remarks>
/// Rules: type and value must normalize; TLP UNSPECIFIED defaults to AMBER (ingest.proto), unknown TLP values
/// are rejected; confidence above 100 is rejected (not clamped: a sensor sending 150 is misconfigured and its
/// number means nothing); observed_at defaults to the receipt time when absent, and is rejected before 1990
/// or more than one day after now; valid_until, when set, must not precede observed_at; tags and sectors are
/// trimmed, lower-cased and deduplicated; description, context and sensor are bounded, except that a context value
/// longer than the limit is truncated with a visible marker instead of costing the sighting
/// (<see cref="IndicatorLimits"/>); count 0 reads as 1.
/// </remarks>
internal sealed class SightingValidator
{
    private readonly TimeProvider _time;

    // One Ingest stream is one agent, usually with a handful of sensors, at one node: the last sensor name and trust
    // domain built are reused instead of allocating them again for every sighting. Each cache is one immutable object,
    // swapped whole, so a validator shared between threads stays correct.
    private SensorName? _lastSensor;
    private NodeDomain? _lastDomain;

    private readonly IReadOnlyDictionary<IndicatorType, TimeSpan> _defaultLifetimes;

    /// <param name="time">The clock.</param>
    /// <param name="defaultLifetimes">
    /// Per type, how long after it was observed a sighting without valid_until stays valid (node.expiry); types not
    /// listed get no valid_until.
    /// </param>
    public SightingValidator(TimeProvider time, IReadOnlyDictionary<IndicatorType, TimeSpan>? defaultLifetimes = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _defaultLifetimes = defaultLifetimes ?? new Dictionary<IndicatorType, TimeSpan>();
    }

    /// <summary>
    /// Validates <paramref name="s"/> as received from agent <paramref name="agentName"/> at node <paramref name="nodeId"/>
    /// (the gateway's SPIFFE id; its trust domain becomes the indicator's origin_domain).
    /// </summary>
    public ValidationOutcome Validate(Sighting s, string nodeId, string agentName)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentException.ThrowIfNullOrEmpty(agentName);

        if (!IndicatorTypeNames.IsKnown(s.Type))
        {
            return ValidationOutcome.Rejected(s.Type == IndicatorType.Unspecified
                ? "type: is unspecified"
                : $"type: unknown indicator type {(int)s.Type}");
        }

        var normalized = IndicatorNormalizer.Normalize(s.Type, s.Value);
        if (!normalized.Ok)
        {
            return ValidationOutcome.Rejected(normalized.Error!);
        }

        var tlp = s.Tlp == Tlp.Unspecified ? Tlp.Amber : s.Tlp;
        if (!IndicatorLimits.IsKnownTlp(tlp))
        {
            return ValidationOutcome.Rejected($"tlp: unknown TLP value {(int)s.Tlp}");
        }

        if (s.Confidence > 100)
        {
            return ValidationOutcome.Rejected($"confidence: {s.Confidence} is above 100");
        }

        var now = _time.GetUtcNow();
        var latest = now + IndicatorLimits.FutureSkew;
        DateTimeOffset observedAt;
        if (s.ObservedAt is null)
        {
            observedAt = now;
        }
        else
        {
            var error = IndicatorLimits.CheckTimestamp(s.ObservedAt, "observed_at", latest, out observedAt);
            if (error is not null)
            {
                return ValidationOutcome.Rejected(error);
            }
        }

        DateTimeOffset? validUntil = null;
        if (s.ValidUntil is not null)
        {
            var error = IndicatorLimits.CheckTimestamp(s.ValidUntil, "valid_until", DateTimeOffset.MaxValue, out var until);
            if (error is not null)
            {
                return ValidationOutcome.Rejected(error);
            }

            if (until < observedAt)
            {
                return ValidationOutcome.Rejected($"valid_until: {until:O} is before observed_at {observedAt:O}");
            }

            validUntil = until;
        }

        var sensor = SensorOf(agentName, s.Sensor);
        var context = IndicatorLimits.TruncateContextValues(s.Context);
        var problem = IndicatorLimits.CheckName(sensor, "sensor", IndicatorLimits.MaxSensorLength)
            ?? IndicatorLimits.CheckDescription(s.Description)
            ?? IndicatorLimits.CheckContext(context, "context");
        if (problem is not null)
        {
            return ValidationOutcome.Rejected(problem);
        }

        var observedTs = Timestamp.FromDateTimeOffset(observedAt);
        var indicator = new Indicator
        {
            Id = IndicatorIds.Compute(s.Type, normalized.Value),
            Type = s.Type,
            Value = normalized.Value,
            Tlp = tlp,
            Confidence = s.Confidence,
            FirstSeen = observedTs,
            LastSeen = observedTs,
            ValidUntil = validUntil is { } v ? Timestamp.FromDateTimeOffset(v)
                : _defaultLifetimes.TryGetValue(s.Type, out var lifetime) ? Timestamp.FromDateTimeOffset(observedAt + lifetime)
                : null,
            Description = s.Description,
            OriginDomain = DomainOf(nodeId),
        };

        problem = IndicatorLimits.NormalizeLabels(s.Tags, indicator.Tags, "tags", IndicatorLimits.MaxTags)
            ?? IndicatorLimits.NormalizeLabels(s.Sectors, indicator.Sectors, "sectors", IndicatorLimits.MaxSectors);
        if (problem is not null)
        {
            return ValidationOutcome.Rejected(problem);
        }

        var observation = new Observation
        {
            Node = nodeId,
            Sensor = sensor,
            Count = Math.Max(1u, s.Count),
            FirstSeen = observedTs,
            LastSeen = observedTs,
            Confidence = s.Confidence,
        };
        observation.Context.Add(context);
        indicator.Observations.Add(observation);
        return ValidationOutcome.Valid(indicator);
    }

    /// <summary>"agent" or "agent/sensor", as recorded in the observation.</summary>
    private string SensorOf(string agentName, string sensor)
    {
        if (sensor.Length == 0)
        {
            return agentName;
        }

        var last = _lastSensor;
        if (last is not null && string.Equals(last.Agent, agentName, StringComparison.Ordinal) && string.Equals(last.Sensor, sensor, StringComparison.Ordinal))
        {
            return last.Combined;
        }

        var combined = agentName + "/" + sensor;
        _lastSensor = new SensorName(agentName, sensor, combined);
        return combined;
    }

    private string DomainOf(string nodeId)
    {
        var last = _lastDomain;
        if (last is not null && string.Equals(last.NodeId, nodeId, StringComparison.Ordinal))
        {
            return last.Domain;
        }

        var domain = TrustDomainOf(nodeId);
        _lastDomain = new NodeDomain(nodeId, domain);
        return domain;
    }

    private sealed record SensorName(string Agent, string Sensor, string Combined);

    private sealed record NodeDomain(string NodeId, string Domain);

    /// <summary>"spiffe://ee.cybercoop/gateway/tallinn" -> "ee.cybercoop"; anything else is returned unchanged.</summary>
    internal static string TrustDomainOf(string spiffeId)
    {
        const string Scheme = "spiffe://";
        if (!spiffeId.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return spiffeId;
        }

        var rest = spiffeId.AsSpan(Scheme.Length);
        var slash = rest.IndexOf('/');
        return (slash < 0 ? rest : rest[..slash]).ToString();
    }
}
