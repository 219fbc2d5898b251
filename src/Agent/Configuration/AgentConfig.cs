namespace CyberCoop.Agent.Configuration;

/// <summary>
/// agent.json as written by the operator. Every member is nullable so a missing field is reported
/// by <see cref="AgentConfigValidator"/> by name instead of failing deserialization.
/// </summary>
internal sealed record AgentConfig
{
    /// <summary>Agent name (the last segment of its SPIFFE id); used as the default sensor name.</summary>
    public string? Name { get; init; }

    /// <summary>Own trust domain ("ee.cybercoop").</summary>
    public string? TrustDomain { get; init; }

    /// <summary>Where the national gateway listens.</summary>
    public GatewayEndpointConfig? Gateway { get; init; }

    /// <summary>The agent's certificate, key and the own domain's pinned root.</summary>
    public TlsConfig? Tls { get; init; }

    /// <summary>CIDRs of the protected network: addresses inside are never reported.</summary>
    public IReadOnlyList<string>? HomeNet { get; init; }

    /// <summary>Values never reported: IPs/CIDRs, domains (with their subdomains) or exact values.</summary>
    public IReadOnlyList<string>? Allowlist { get; init; }

    /// <summary>Detection sources.</summary>
    public IReadOnlyList<SourceConfig?>? Sources { get; init; }

    /// <summary>On-disk spool.</summary>
    public SpoolConfig? Spool { get; init; }

    /// <summary>Batching of sightings.</summary>
    public BatchConfig? Batch { get; init; }

    /// <summary>File holding read offsets (default "agent-state.json").</summary>
    public string? StateFile { get; init; }

    /// <summary>Lines longer than this are skipped (default 1 MiB).</summary>
    public int? MaxLineBytes { get; init; }

    /// <summary>How often files are checked for new data (default 250 ms).</summary>
    public int? PollMilliseconds { get; init; }

    /// <summary>
    /// How long a file renamed away must stay unchanged, once a new file exists at its path, before the agent stops
    /// reading it (default 30 s; the sensor writes to the old file until it reopens its log).
    /// </summary>
    public int? RotationGraceSeconds { get; init; }
}

/// <summary>The gateway to deliver to.</summary>
internal sealed record GatewayEndpointConfig
{
    /// <summary>https URL of the gateway's mTLS port.</summary>
    public string? Address { get; init; }

    /// <summary>Optional exact SPIFFE id the gateway must present.</summary>
    public string? ExpectedId { get; init; }

    /// <summary>HTTP/2 keepalive pings on the connection to the gateway.</summary>
    public KeepaliveConfig? Keepalive { get; init; }
}

/// <summary>
/// HTTP/2 PING keepalive (<c>gateway.keepalive</c>): a connection whose link went silent (half-open) is closed once a ping
/// stays unanswered, and delivery reconnects; detected at most <c>intervalSeconds + timeoutSeconds</c> after it fell silent.
/// </summary>
internal sealed record KeepaliveConfig
{
    /// <summary>Seconds without a frame received before a ping is sent (default 30, 1..3600).</summary>
    public int? IntervalSeconds { get; init; }

    /// <summary>Seconds a ping may stay unanswered before the connection is closed (default 15, 1..600).</summary>
    public int? TimeoutSeconds { get; init; }
}

/// <summary>TLS material, paths relative to the config file.</summary>
internal sealed record TlsConfig
{
    /// <summary>Agent certificate (PEM, leaf first, intermediates after).</summary>
    public string? Certificate { get; init; }

    /// <summary>Agent private key (PEM).</summary>
    public string? Key { get; init; }

    /// <summary>Own trust domain's root certificate (PEM).</summary>
    public string? Root { get; init; }

    /// <summary>SHA-256 pin of the root's SPKI, as shown by <c>certs fingerprint</c>.</summary>
    public string? RootPin { get; init; }
}

/// <summary>One detection source.</summary>
internal sealed record SourceConfig
{
    /// <summary>Sensor name reported with each sighting.</summary>
    public string? Name { get; init; }

    /// <summary>File path; the file name may contain * and ? wildcards. Not with <see cref="Url"/>.</summary>
    public string? Path { get; init; }

    /// <summary>misp-feed only, instead of <see cref="Path"/>: https URL of a MISP feed (the folder holding manifest.json).</summary>
    public string? Url { get; init; }

    /// <summary>misp-feed URL: seconds between polls of manifest.json (default 300, 1..86400).</summary>
    public int? PollSeconds { get; init; }

    /// <summary>misp-feed URL: PEM file of the CA(s) the feed's server certificate must chain to (default: the system store).</summary>
    public string? CaFile { get; init; }

    /// <summary>misp-feed URL: seconds one request may take, connect to last byte (default 60, 1..600).</summary>
    public int? TimeoutSeconds { get; init; }

    /// <summary>misp-feed URL: largest manifest or event body accepted, in bytes (default 64 MiB, 1 KiB..256 MiB).</summary>
    public long? MaxBytes { get; init; }

    /// <summary>eve, zeek, jsonl, csv, stix or misp-feed (a MISP feed folder: path "&lt;folder&gt;/*.json"; or its https url).</summary>
    public string? Format { get; init; }

    /// <summary>TLP of this source's sightings (default AMBER).</summary>
    public string? Tlp { get; init; }

    /// <summary>Confidence 0-100; for EVE it overrides the severity mapping.</summary>
    public int? Confidence { get; init; }

    /// <summary>Tags added to every sighting.</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Sectors added to every sighting.</summary>
    public IReadOnlyList<string>? Sectors { get; init; }

    /// <summary>Field mapping for jsonl/csv (and Zeek logs other than notice/intel).</summary>
    public FieldMappingConfig? Mapping { get; init; }

    /// <summary>Where to start in a file seen for the first time: "beginning" (default) or "end".</summary>
    public string? StartAt { get; init; }
}

/// <summary>Which fields of a generic record carry what.</summary>
internal sealed record FieldMappingConfig
{
    /// <summary>Field holding the indicator type name (ipv4, domain, sha256, ...).</summary>
    public string? Type { get; init; }

    /// <summary>Fixed indicator type when no type field exists ("auto" guesses from the value).</summary>
    public string? FixedType { get; init; }

    /// <summary>Field holding the observable (required).</summary>
    public string? Value { get; init; }

    /// <summary>Field holding the observation time (ISO 8601 or Unix seconds).</summary>
    public string? Timestamp { get; init; }

    /// <summary>Field holding a 0-100 confidence.</summary>
    public string? Confidence { get; init; }

    /// <summary>Field holding a TLP name.</summary>
    public string? Tlp { get; init; }

    /// <summary>Field holding tags (array, or a comma/semicolon separated string).</summary>
    public string? Tags { get; init; }

    /// <summary>Field holding a description.</summary>
    public string? Description { get; init; }

    /// <summary>Field holding an expiry time.</summary>
    public string? ValidUntil { get; init; }

    /// <summary>Fields copied into the sighting context.</summary>
    public IReadOnlyList<string>? Context { get; init; }

    /// <summary>CSV delimiter (default ",").</summary>
    public string? Delimiter { get; init; }
}

/// <summary>On-disk spool settings.</summary>
internal sealed record SpoolConfig
{
    /// <summary>Spool folder (default "spool").</summary>
    public string? Directory { get; init; }

    /// <summary>Cap on unacknowledged bytes (default 1 GiB); readers pause when reached.</summary>
    public long? MaxBytes { get; init; }
}

/// <summary>Batching settings.</summary>
internal sealed record BatchConfig
{
    /// <summary>Sightings per batch (default 1000, at most 5000).</summary>
    public int? MaxItems { get; init; }

    /// <summary>How long a partial batch may wait (default 1000 ms).</summary>
    public int? LingerMilliseconds { get; init; }
}
