using System.Collections.Frozen;
using System.Net;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Configuration;

/// <summary>A validated agent configuration with absolute paths and parsed values.</summary>
internal sealed record AgentSettings
{
    /// <summary>Agent name.</summary>
    public required string Name { get; init; }

    /// <summary>Own trust domain.</summary>
    public required string TrustDomain { get; init; }

    /// <summary>Gateway URL.</summary>
    public required Uri GatewayAddress { get; init; }

    /// <summary>Exact SPIFFE id the gateway must present, or null for any gateway of the own domain.</summary>
    public string? ExpectedGatewayId { get; init; }

    /// <summary>Agent certificate file.</summary>
    public required string CertificatePath { get; init; }

    /// <summary>Agent key file.</summary>
    public required string KeyPath { get; init; }

    /// <summary>Own domain root file.</summary>
    public required string RootPath { get; init; }

    /// <summary>Pin of the root.</summary>
    public required string RootPin { get; init; }

    /// <summary>Filter applied to every sighting.</summary>
    public required SightingFilter Filter { get; init; }

    /// <summary>Sources.</summary>
    public required IReadOnlyList<SourceSettings> Sources { get; init; }

    /// <summary>Default of gateway.keepalive.intervalSeconds.</summary>
    public static TimeSpan DefaultKeepaliveInterval { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Default of gateway.keepalive.timeoutSeconds.</summary>
    public static TimeSpan DefaultKeepaliveTimeout { get; } = TimeSpan.FromSeconds(15);

    /// <summary>Delay before an HTTP/2 keepalive ping on the gateway connection.</summary>
    public TimeSpan KeepaliveInterval { get; init; } = DefaultKeepaliveInterval;

    /// <summary>How long a keepalive ping may stay unanswered before the connection is closed.</summary>
    public TimeSpan KeepaliveTimeout { get; init; } = DefaultKeepaliveTimeout;

    /// <summary>Spool folder.</summary>
    public required string SpoolDirectory { get; init; }

    /// <summary>Spool cap.</summary>
    public required long SpoolMaxBytes { get; init; }

    /// <summary>Sightings per batch.</summary>
    public required int BatchMaxItems { get; init; }

    /// <summary>Linger of a partial batch.</summary>
    public required TimeSpan BatchLinger { get; init; }

    /// <summary>Offset state file.</summary>
    public required string StateFile { get; init; }

    /// <summary>Longest accepted line.</summary>
    public required int MaxLineBytes { get; init; }

    /// <summary>File poll interval.</summary>
    public required TimeSpan PollInterval { get; init; }

    /// <summary>How long a rotated-away file must be idle (with a new file at its path) before it is let go.</summary>
    public TimeSpan RotationGrace { get; init; } = DefaultRotationGrace;

    /// <summary>Default of <see cref="RotationGrace"/>: 30 s.</summary>
    public static TimeSpan DefaultRotationGrace { get; } = TimeSpan.FromSeconds(30);
}

/// <summary>A validated source.</summary>
internal sealed record SourceSettings
{
    /// <summary>Sensor name.</summary>
    public required string Name { get; init; }

    /// <summary>Absolute path, possibly with wildcards in the file name; for a feed URL, the URL.</summary>
    public required string Path { get; init; }

    /// <summary>A MISP feed polled over HTTPS instead of files (null for file sources).</summary>
    public FeedSettings? Feed { get; init; }

    /// <summary>Format.</summary>
    public required SourceFormat Format { get; init; }

    /// <summary>Defaults stamped on each sighting.</summary>
    public required SourceProfile Profile { get; init; }

    /// <summary>Field mapping for generic formats (null when not configured).</summary>
    public FieldMapping? Mapping { get; init; }

    /// <summary>True to start new files at their end instead of their beginning.</summary>
    public bool StartAtEnd { get; init; }
}

/// <summary>A MISP feed read over HTTPS.</summary>
internal sealed record FeedSettings
{
    /// <summary>Default of <see cref="PollInterval"/>: 5 minutes.</summary>
    public static TimeSpan DefaultPollInterval { get; } = TimeSpan.FromMinutes(5);

    /// <summary>Default of <see cref="Timeout"/>: 60 s.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Default of <see cref="MaxBytes"/>: 64 MiB.</summary>
    public const long DefaultMaxBytes = 64 * 1024 * 1024;

    /// <summary>The feed's base URL (https, ending in '/'): manifest.json and &lt;uuid&gt;.json are read below it.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Time between manifest polls.</summary>
    public TimeSpan PollInterval { get; init; } = DefaultPollInterval;

    /// <summary>Longest time one request may take.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Largest body accepted (manifest or event).</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Absolute path of a PEM file of trusted CAs, or null for the system store.</summary>
    public string? CaFile { get; init; }
}

/// <summary>What a source stamps on every sighting it produces.</summary>
internal sealed record SourceProfile
{
    /// <summary>Default profile for dry runs: sensor "parse", AMBER, no fixed confidence.</summary>
    public static SourceProfile Default { get; } = new() { Sensor = "parse" };

    /// <summary>Sensor name.</summary>
    public required string Sensor { get; init; }

    /// <summary>TLP (default AMBER).</summary>
    public Tlp Tlp { get; init; } = Tlp.Amber;

    /// <summary>Fixed confidence, or null to use the format's own (EVE severity, STIX confidence, default 50).</summary>
    public uint? Confidence { get; init; }

    /// <summary>Tags added to each sighting.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Sectors added to each sighting.</summary>
    public IReadOnlyList<string> Sectors { get; init; } = [];
}

/// <summary>A validated generic field mapping.</summary>
internal sealed record FieldMapping
{
    /// <summary>Type field name, or null.</summary>
    public string? TypeField { get; init; }

    /// <summary>Fixed type (Unspecified = guess from the value).</summary>
    public IndicatorType FixedType { get; init; }

    /// <summary>Value field name.</summary>
    public required string ValueField { get; init; }

    /// <summary>Timestamp field name.</summary>
    public string? TimestampField { get; init; }

    /// <summary>Confidence field name.</summary>
    public string? ConfidenceField { get; init; }

    /// <summary>TLP field name.</summary>
    public string? TlpField { get; init; }

    /// <summary>Tags field name.</summary>
    public string? TagsField { get; init; }

    /// <summary>Description field name.</summary>
    public string? DescriptionField { get; init; }

    /// <summary>Valid-until field name.</summary>
    public string? ValidUntilField { get; init; }

    /// <summary>Context field names.</summary>
    public IReadOnlyList<string> ContextFields { get; init; } = [];

    /// <summary>CSV delimiter.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Every field name the mapping reads, for fast lookups.</summary>
    public FrozenSet<string> AllFields => field ??= BuildAllFields();

    private FrozenSet<string> BuildAllFields()
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { ValueField };
        foreach (var f in new[] { TypeField, TimestampField, ConfidenceField, TlpField, TagsField, DescriptionField, ValidUntilField })
        {
            if (f is not null)
            {
                set.Add(f);
            }
        }

        set.UnionWith(ContextFields);
        return set.ToFrozenSet(StringComparer.Ordinal);
    }
}

/// <summary>Parsed network list helpers.</summary>
internal static class NetworkParsing
{
    /// <summary>Parses "10.0.0.0/8", "2001:db8::/32" or a single address.</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        if (IPNetwork.TryParse(text, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }
}
