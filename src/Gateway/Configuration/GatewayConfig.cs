using System.Text.Json.Serialization;

namespace CyberCoop.Gateway.Configuration;

/// <summary>
/// The gateway's one config file (<c>gateway.json</c>). Relative paths are resolved against the
/// folder holding the file. Validated as a whole by <see cref="GatewayConfigValidator"/>. Immutable: a reload builds a
/// new instance.
/// </summary>
internal sealed record GatewayConfig
{
    /// <summary>This node.</summary>
    public NodeConfig Node { get; init; } = new();

    /// <summary>Allied gateways this node exchanges with.</summary>
    public IReadOnlyList<PeerConfig> Peers { get; init; } = [];

    /// <summary>
    /// Roots pinned only to verify the origin signature of content relayed to us by a peer. Nodes of
    /// these domains cannot connect to this node unless they are also configured peers.
    /// </summary>
    public IReadOnlyList<TrustedOriginConfig> TrustedOrigins { get; init; } = [];

    /// <summary>The TAXII 2.1 server for analysts' tools (docs/interoperability.md); off when absent.</summary>
    public TaxiiConfig? Taxii { get; init; }

    /// <summary>The operator web console (docs/operator-guide.md §9); off when absent.</summary>
    public ConsoleConfig? Console { get; init; }

    /// <summary>
    /// Where the node keeps its state when not in the SQLite file of <c>node.storage</c>: absent (the default) means
    /// SQLite; <c>storage.postgres</c> puts it in PostgreSQL (docs/operator-guide.md, "PostgreSQL and high availability").
    /// </summary>
    public StorageConfig? Storage { get; init; }
}

/// <summary>The store's engine (<c>storage</c>).</summary>
internal sealed record StorageConfig
{
    /// <summary>PostgreSQL instead of SQLite; several gateway processes of one nation may share its database.</summary>
    public PostgresConfig? Postgres { get; init; }
}

/// <summary>The PostgreSQL store (<c>storage.postgres</c>).</summary>
internal sealed record PostgresConfig
{
    /// <summary>Npgsql connection string, e.g. <c>Host=db1;Port=5432;Database=cybercoop;Username=gateway;Password=...</c>.</summary>
    public string ConnectionString { get; init; } = "";

    /// <summary>
    /// Seconds an outbox envelope claimed by one gateway process stays its own unacknowledged; after that another
    /// process of the same nation re-sends it (how long a killed process's envelopes wait). 5-600, default 30.
    /// </summary>
    public int OutboxLeaseSeconds { get; init; } = 30;
}

/// <summary>A trust domain whose relayed content this node can verify.</summary>
internal sealed record TrustedOriginConfig
{
    /// <summary>Trust domain, e.g. <c>ee.cybercoop</c>.</summary>
    public string TrustDomain { get; init; } = "";

    /// <summary>PEM file of the domain's root certificate.</summary>
    public string Root { get; init; } = "";

    /// <summary>SHA-256 pin of the root's SubjectPublicKeyInfo.</summary>
    public string RootPin { get; init; } = "";
}

/// <summary>Identity, listeners, keys and storage of this node.</summary>
internal sealed record NodeConfig
{
    /// <summary>Own trust domain, e.g. <c>ee.cybercoop</c>.</summary>
    public string TrustDomain { get; init; } = "";

    /// <summary>Gateway name; the node's id is <c>spiffe://&lt;trustDomain&gt;/gateway/&lt;name&gt;</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary>mTLS listen endpoint, <c>host:port</c> (IPv4, [IPv6] or localhost).</summary>
    public string Listen { get; init; } = "127.0.0.1:7400";

    /// <summary>TLS identity and own root.</summary>
    public TlsConfig Tls { get; init; } = new();

    /// <summary>Folder of the content keys (signing and KEM); created with fresh keys on first start.</summary>
    public string KeysDirectory { get; init; } = "keys";

    /// <summary>SQLite database file.</summary>
    public string Storage { get; init; } = "gateway.db";

    /// <summary>
    /// Largest size the database may grow to, in MiB (0, the default: only the disk limits it). When it is reached, or the
    /// disk holding it is full, writes are refused with RESOURCE_EXHAUSTED "storage-full" and nothing is acknowledged;
    /// read at start.
    /// </summary>
    public int StorageMaxMegabytes { get; init; }

    /// <summary>Unix domain socket of the Admin API (mode 0600).</summary>
    public string AdminSocket { get; init; } = "admin.sock";

    /// <summary>Preferred suite: <c>hybrid</c> (X25519+ML-KEM-768, Ed25519+ML-DSA-65) or <c>classic</c>.</summary>
    public string Suite { get; init; } = "hybrid";

    /// <summary>Weakest suite accepted from or used towards any peer.</summary>
    public string MinimumSuite { get; init; } = "classic";

    /// <summary>How long envelope ids are remembered; also the maximum accepted age of an envelope.</summary>
    public int ReplayWindowSeconds { get; init; } = 600;

    /// <summary>How far in the future an envelope's sent-at may be.</summary>
    public int MaxClockSkewSeconds { get; init; } = 120;

    /// <summary>How bundles are cut.</summary>
    public BundleConfig Bundle { get; init; } = new();

    /// <summary>Maximum relays after the first delivery for content this node originates.</summary>
    public int MaxHops { get; init; } = 2;

    /// <summary>
    /// Seconds between trust-bundle refreshes from peers (used when it is shorter than the refresh hint a peer's
    /// bundle carries).
    /// </summary>
    public int TrustBundleRefreshSeconds { get; init; } = 300;

    /// <summary>
    /// The own domain's trust bundle file (binary SignedTrustBundle) signed offline by the domain's root: the roots
    /// and revoked serials of this domain, served to peers. Written by <c>certs init-domain</c>, <c>certs revoke</c>,
    /// <c>certs bundle sign</c> and <c>certs rotate-root</c>; a reload picks up a newer one.
    /// </summary>
    public string TrustBundle { get; init; } = "trust-bundle.pb";

    /// <summary>
    /// Optional plain-HTTP endpoint (host:port) serving Prometheus metrics at <c>/metrics</c> and a liveness
    /// probe at <c>/healthz</c>; nothing else is served there. Null (the default) serves neither.
    /// </summary>
    public string? MetricsListen { get; init; }

    /// <summary>
    /// Whether gateways of trust domains this node does not pin may read its public trust bundle (first contact,
    /// what <c>peers add --fetch</c> on their side needs), and nothing else. False refuses them at the TLS handshake,
    /// as any unknown certificate; applies on reload.
    /// </summary>
    public bool FirstContact { get; init; } = true;

    /// <summary>How far ahead new content keys are announced and how long retired ones stay usable.</summary>
    public KeyRotationConfig KeyRotation { get; init; } = new();

    /// <summary>Default lifetimes of indicators per type and how long expired ones are kept (intelligence lifecycle).</summary>
    public ExpiryConfig Expiry { get; init; } = new();

    /// <summary>
    /// Seconds between sighting reports back to origins (to the origin, or to the peer that relayed the indicator, when
    /// this node's <c>sightingsBack</c> towards it is not <c>off</c>); each report
    /// covers the sightings of that period (60..86,400).
    /// </summary>
    public int SightingsReportSeconds { get; init; } = 3600;

    /// <summary>Per-agent and per-peer rate and stream limits of the Ingest and Federation services.</summary>
    public LimitsConfig Limits { get; init; } = new();

    /// <summary>How the outbound stream to a peer is retried after a failure.</summary>
    public ReconnectConfig Reconnect { get; init; } = new();

    /// <summary>HTTP/2 keepalive pings that find a dead (half-open) connection to a peer or from a peer or agent.</summary>
    public KeepaliveConfig Keepalive { get; init; } = new();
}

/// <summary>
/// HTTP/2 PING keepalive (<c>node.keepalive</c>) on every mTLS connection: outbound to peers and inbound from peers and
/// agents. A connection whose link went silent without a FIN or RST (a black hole, a NAT or firewall that dropped its state)
/// is closed once a ping stays unanswered, so the outbound stream reconnects and the inbound stream frees its slot of the
/// caller's stream quota. A dead connection is detected at most <c>intervalSeconds + timeoutSeconds</c> after it fell silent.
/// </summary>
internal sealed record KeepaliveConfig
{
    /// <summary>Seconds without a frame received before a ping is sent (1..3,600).</summary>
    public int IntervalSeconds { get; init; } = 20;

    /// <summary>Seconds a ping may stay unanswered before the connection is closed (1..600).</summary>
    public int TimeoutSeconds { get; init; } = 10;

    /// <summary>The delay before the first ping.</summary>
    [JsonIgnore]
    public TimeSpan Interval => TimeSpan.FromSeconds(IntervalSeconds);

    /// <summary>How long a ping may stay unanswered.</summary>
    [JsonIgnore]
    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);
}

/// <summary>
/// Abuse resistance (threat model 5.6): every agent identity and every peer gets its own token bucket and stream
/// quota, so one certificate cannot take the node's capacity from the others. A message that finds its bucket empty
/// waits (the stream is slowed, HTTP/2 flow control pushes back); when the identity already has a bucket's worth of
/// messages waiting, or opens more streams than allowed, the stream ends with RESOURCE_EXHAUSTED.
/// </summary>
internal sealed record LimitsConfig
{
    /// <summary>Sightings per second one agent identity may submit, over all its streams (1..1,000,000).</summary>
    public int AgentSightingsPerSecond { get; init; } = 5_000;

    /// <summary>Sightings one agent identity may submit at once above its rate; at least one full batch (5,000).</summary>
    public int AgentSightingsBurst { get; init; } = 10_000;

    /// <summary>Ingest streams one agent identity may have open at once (1..1,000).</summary>
    public int AgentMaxStreams { get; init; } = 8;

    /// <summary>Envelopes per second one peer may send, over all its Exchange streams (1..100,000).</summary>
    public int PeerEnvelopesPerSecond { get; init; } = 200;

    /// <summary>Envelopes one peer may send at once above its rate (1..1,000,000).</summary>
    public int PeerEnvelopesBurst { get; init; } = 400;

    /// <summary>Exchange streams one peer may have open at once (1..1,000).</summary>
    public int PeerMaxStreams { get; init; } = 4;

    /// <summary>
    /// Mutual-TLS connections one agent or peer identity may hold at once (1..1,000). Agents and peers use one; without
    /// this bound one certificate could hold idle authenticated connections up to the node's whole connection budget.
    /// </summary>
    public int CallerMaxConnections { get; init; } = 64;
}

/// <summary>
/// Retry schedule of the outbound stream to a peer: exponential backoff with jitter (each delay uniform between half
/// and all of min * 2^attempt, capped), reset once the peer accepted the stream.
/// </summary>
internal sealed record ReconnectConfig
{
    /// <summary>First retry delay in milliseconds (10..60,000).</summary>
    public int MinBackoffMilliseconds { get; init; } = 200;

    /// <summary>Longest delay after failures that may pass by themselves (peer down, network), in seconds (1..3,600).</summary>
    public int MaxBackoffSeconds { get; init; } = 10;

    /// <summary>
    /// Longest delay after the peer refused this node (PermissionDenied: not pinned there yet, removed, revoked) or
    /// rate-limited it (ResourceExhausted), in seconds (1..86,400).
    /// </summary>
    public int DeniedMaxBackoffSeconds { get; init; } = 300;
}

/// <summary>Expiry of indicators (<c>node.expiry</c>).</summary>
internal sealed record ExpiryConfig
{
    /// <summary>
    /// Days a sighting without valid_until stays valid after it was observed, per indicator type name (ipv4, domain,
    /// sha256, ...). A type not listed gets no valid_until. Each sighting moves the indicator's valid_until forward.
    /// </summary>
    public IReadOnlyDictionary<string, int> DefaultLifetimeDays { get; init; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["ipv4"] = 30,
        ["ipv6"] = 30,
        ["cidr"] = 30,
        ["domain"] = 90,
        ["url"] = 90,
        ["email"] = 90,
        ["ja3"] = 180,
        ["ja4"] = 180,
        ["md5"] = 365,
        ["sha1"] = 365,
        ["sha256"] = 365,
        ["sha512"] = 365,
    };

    /// <summary>Days an expired indicator is kept (not sent, not exported as active) before it is deleted (0..3650).</summary>
    public int RetentionDays { get; init; } = 30;

    /// <summary>Seconds between expiry pruning passes (60..86,400).</summary>
    public int PruneIntervalSeconds { get; init; } = 3600;
}

/// <summary>Scheduling of content-key rotation (<c>keys rotate</c>).</summary>
internal sealed record KeyRotationConfig
{
    /// <summary>
    /// New keys are announced this many trust-bundle refresh intervals (<see cref="NodeConfig.TrustBundleRefreshSeconds"/>)
    /// before this node and its peers start using them (1..100).
    /// </summary>
    public int AnnounceAheadIntervals { get; init; } = 3;

    /// <summary>
    /// Seconds a retired key stays announced and usable for opening and verifying after its successor became active
    /// (outboxes and in-flight envelopes); afterwards the retired KEM private key is destroyed.
    /// </summary>
    public int RetiredGraceSeconds { get; init; } = 7 * 86_400;
}

/// <summary>TLS material of this node.</summary>
internal sealed record TlsConfig
{
    /// <summary>PEM certificate of this gateway (SPIFFE id in its URI SAN).</summary>
    public string Certificate { get; init; } = "";

    /// <summary>PEM private key of the certificate (mode 0600).</summary>
    public string Key { get; init; } = "";

    /// <summary>
    /// PEM root certificate of this node's own trust domain: the root the own trust bundle must be signed by.
    /// The domain's TLS chains are then anchored on the roots that bundle lists (old and new during a rotation).
    /// </summary>
    public string Root { get; init; } = "";
}

/// <summary>Bundle cutting: a bundle is sent when full or when the oldest item has waited the linger time.</summary>
internal sealed record BundleConfig
{
    /// <summary>Maximum indicators per bundle (1..10000).</summary>
    public int MaxIndicators { get; init; } = 1000;

    /// <summary>Maximum wait before a partial bundle is cut, in milliseconds.</summary>
    public int LingerMilliseconds { get; init; } = 100;
}

/// <summary>One allied gateway.</summary>
internal sealed record PeerConfig
{
    /// <summary>SPIFFE id of the peer gateway, e.g. <c>spiffe://fi.cybercoop/gateway/helsinki</c>.</summary>
    public string Id { get; init; } = "";

    /// <summary>Trust domain of the peer (must match <see cref="Id"/>).</summary>
    public string TrustDomain { get; init; } = "";

    /// <summary>Address to dial, <c>https://host:port</c>.</summary>
    public string Address { get; init; } = "";

    /// <summary>PEM file of the peer domain's root certificate.</summary>
    public string Root { get; init; } = "";

    /// <summary>SHA-256 pin of the root's SubjectPublicKeyInfo (<c>sha256:&lt;hex&gt;</c>), confirmed by the operator.</summary>
    public string RootPin { get; init; } = "";

    /// <summary>Suite pinned for this peer (<c>hybrid</c> or <c>classic</c>); null negotiates the strongest both announce.</summary>
    public string? Suite { get; init; }

    /// <summary>What may leave this country towards the peer.</summary>
    public OutboundPolicyConfig Outbound { get; init; } = new();

    /// <summary>How content from the peer is treated.</summary>
    public InboundPolicyConfig Inbound { get; init; } = new();

    /// <summary>
    /// What this node reports back to the peer about indicators seen by this node's sensors that it got from the peer
    /// (the peer's own, or relayed by the peer from another origin, which the peer passes on under its own policy):
    /// <c>off</c> (default), <c>counts</c> (count and first/last seen per period), or <c>counts+sector</c> (also the
    /// sectors where they were seen). Never sensor names, hosts or any other observation detail. Also decides whether
    /// this node forwards other nodes' reports towards the peer (docs/protocol.md §13.2).
    /// </summary>
    public string SightingsBack { get; init; } = "off";
}

/// <summary>Outbound (sovereignty) policy as written in the config file.</summary>
internal sealed record OutboundPolicyConfig
{
    /// <summary>Highest TLP shared: CLEAR, GREEN, AMBER, AMBER+STRICT or RED.</summary>
    public string TlpCeiling { get; init; } = "AMBER";

    /// <summary>Whether TLP:RED may be shared at all (also needs <see cref="TlpCeiling"/> RED).</summary>
    public bool AllowRed { get; init; }

    /// <summary>Indicator types shared (empty: all).</summary>
    public IReadOnlyList<string> AllowedTypes { get; init; } = [];

    /// <summary>Minimum confidence shared (0-100).</summary>
    public int MinConfidence { get; init; }

    /// <summary>Sectors shared (empty: all; otherwise the indicator must name one of them).</summary>
    public IReadOnlyList<string> Sectors { get; init; } = [];

    /// <summary>Indicators with any of these tags are withheld.</summary>
    public IReadOnlyList<string> BlockedTags { get; init; } = [];

    /// <summary>Indicators must carry all of these tags.</summary>
    public IReadOnlyList<string> RequiredTags { get; init; } = [];

    /// <summary>Fields removed before sharing; null means the default (sensor and context).</summary>
    public IReadOnlyList<string>? Redact { get; init; }

    /// <summary>Seconds after first sighting before an indicator may be shared.</summary>
    public int EmbargoSeconds { get; init; }

    /// <summary>Whether the peer may relay CLEAR/GREEN content further.</summary>
    public bool AllowRelay { get; init; }
}

/// <summary>Inbound (mistrust) policy as written in the config file.</summary>
internal sealed record InboundPolicyConfig
{
    /// <summary><c>accept</c> or <c>quarantine</c>.</summary>
    public string Mode { get; init; } = "accept";

    /// <summary>Factor 0..1 applied to the confidence of what the peer sends.</summary>
    public double TrustWeight { get; init; } = 1.0;

    /// <summary>Types accepted (empty: all).</summary>
    public IReadOnlyList<string> AllowedTypes { get; init; } = [];

    /// <summary>Lowest TLP stored for the peer's content; lower markings are raised to it.</summary>
    public string TlpFloor { get; init; } = "CLEAR";
}

/// <summary>
/// Source-generated JSON metadata for the config file (camelCase, strict). The config types are immutable records
/// (init-only properties, read-only lists): a change is a copy made with <c>with</c>. The generator builds such a record in
/// one object initializer that assigns every property, so a field missing from the file would get <c>default(T)</c>
/// instead of its declared default; <see cref="GatewayConfigFile"/> first writes the missing fields into the document
/// from each section's default instance (<see cref="GatewayConfigFile.DefaultsOf"/>).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GatewayConfig))]
internal sealed partial class GatewayConfigJsonContext : JsonSerializerContext;
