// Frozen copy of the agent's SightingEmitter as it was before the all-alert work (commit ba1c5c4), kept only so
// EveParsingBenchmarks measures before and after in one run. Not used by the agent.
using System.Net;
using System.Net.Sockets;
using System.Text;
using CyberCoop.Agent.Configuration;
using CyberCoop.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

using CyberCoop.Agent.Parsing;

namespace CyberCoop.Benchmarks.Agent.Before;

/// <summary>
/// Turns observables found by a parser into <see cref="Sighting"/>s stamped with the source's
/// profile, after the home-net/allowlist filter; appends them to <see cref="Output"/>.
/// </summary>
internal sealed class SightingEmitterBefore
{
    /// <summary>Largest value the gateway accepts, in UTF-8 bytes.</summary>
    public const int MaxValueBytes = 2048;

    /// <summary>Largest description the gateway accepts, in UTF-8 bytes.</summary>
    public const int MaxDescriptionBytes = 1024;

    /// <summary>Confidence when neither the record nor the source gives one.</summary>
    public const uint DefaultConfidence = 50;

    private readonly SightingFilter _filter;

    /// <summary>Creates an emitter.</summary>
    public SightingEmitterBefore(SourceProfile profile, SightingFilter filter, ParseDiagnostics diagnostics)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(diagnostics);
        Profile = profile;
        _filter = filter;
        Diagnostics = diagnostics;
    }

    /// <summary>The source profile.</summary>
    public SourceProfile Profile { get; }

    /// <summary>Where counts go.</summary>
    public ParseDiagnostics Diagnostics { get; }

    /// <summary>Where sightings go; the caller may swap it between reads.</summary>
    public List<Sighting> Output { get; set; } = [];

    /// <summary>Confidence to use when the record itself suggests <paramref name="fromRecord"/> (null = none).</summary>
    public uint ConfidenceFor(uint? fromRecord) => Profile.Confidence ?? fromRecord ?? DefaultConfidence;

    /// <summary>
    /// Emits one sighting unless the filter rejects it. Returns the sighting (so the caller may add
    /// per-item details) or null when it was filtered out.
    /// </summary>
    public Sighting? Emit(
        IndicatorType type,
        string value,
        DateTimeOffset? observedAt,
        uint confidence,
        IReadOnlyList<KeyValuePair<string, string>>? context = null,
        Tlp tlp = Tlp.Unspecified,
        DateTimeOffset? validUntil = null,
        string? description = null,
        IReadOnlyList<string>? extraTags = null,
        string? role = null)
    {
        value = value.Trim();
        if (value.Length == 0)
        {
            Diagnostics.Filter("empty value");
            return null;
        }

        if (value.Length > MaxValueBytes / 3 && Encoding.UTF8.GetByteCount(value) > MaxValueBytes)
        {
            Diagnostics.Filter("value longer than 2048 bytes");
            return null;
        }

        string? reason;
        if (type is IndicatorType.Ipv4 or IndicatorType.Ipv6 && IPAddress.TryParse(value, out var address))
        {
            // Parse once for both the family and the home-net check (the hot path of EVE alerts).
            type = address.AddressFamily == AddressFamily.InterNetworkV6 ? IndicatorType.Ipv6 : IndicatorType.Ipv4;
            reason = _filter.RejectAddress(address);
        }
        else
        {
            type = IndicatorTypeNames.Refine(type, value);
            if (type == IndicatorType.Unspecified)
            {
                Diagnostics.Filter("indicator type not recognised");
                return null;
            }

            reason = _filter.Reject(type, value);
        }

        if (reason is not null)
        {
            Diagnostics.Filter(reason);
            return null;
        }

        var sighting = new Sighting
        {
            Type = type,
            Value = value,
            Tlp = tlp != Tlp.Unspecified ? tlp : Profile.Tlp,
            Confidence = Math.Min(confidence, 100u),
            Sensor = Profile.Sensor,
            Count = 1,
        };
        if (observedAt is { } at)
        {
            sighting.ObservedAt = Timestamp.FromDateTimeOffset(at);
        }

        if (validUntil is { } until)
        {
            sighting.ValidUntil = Timestamp.FromDateTimeOffset(until);
        }

        if (!string.IsNullOrEmpty(description))
        {
            sighting.Description = Truncate(description, MaxDescriptionBytes);
        }

        sighting.Tags.AddRange(Profile.Tags);
        if (extraTags is not null)
        {
            foreach (var tag in extraTags)
            {
                var t = tag.Trim().ToLowerInvariant();
                if (t.Length > 0 && !sighting.Tags.Contains(t))
                {
                    sighting.Tags.Add(t);
                }
            }
        }

        sighting.Sectors.AddRange(Profile.Sectors);
        if (context is not null)
        {
            foreach (var (k, v) in context)
            {
                sighting.Context[k] = v;
            }
        }

        if (role is not null)
        {
            sighting.Context["role"] = role;
        }

        Output.Add(sighting);
        Diagnostics.Sightings++;
        return sighting;
    }

    /// <summary>Cuts a string to at most <paramref name="maxBytes"/> UTF-8 bytes on a character boundary.</summary>
    public static string Truncate(string text, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var chars = Math.Min(text.Length, maxBytes);
        while (chars > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, chars)) > maxBytes - 3)
        {
            chars--;
        }

        if (chars > 0 && char.IsHighSurrogate(text[chars - 1]))
        {
            chars--;
        }

        return string.Concat(text.AsSpan(0, chars), "…");
    }
}
