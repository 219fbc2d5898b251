using System.Net;
using System.Security.Cryptography;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Trust;

namespace CyberCoop.Gateway.Configuration;

/// <summary>
/// Validates a <see cref="GatewayConfig"/>. Performs every check without short-circuiting, so an
/// operator sees all problems at once; each message starts with the JSON path of the field.
/// </summary>
internal static class GatewayConfigValidator
{
    private static readonly HashSet<string> s_suites = new(StringComparer.Ordinal) { "classic", "hybrid" };
    private static readonly string[] s_typeNames = [.. Enum.GetValues<Contracts.V1.IndicatorType>().Where(IndicatorTypeNames.IsKnown).Select(IndicatorTypeNames.ToName)];

    /// <summary>Returns every problem found; empty when the config is usable.</summary>
    public static List<string> Validate(GatewayConfig config, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<string>();
        ValidateNode(config.Node, baseDirectory, errors);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Peers.Count; i++)
        {
            var peer = config.Peers[i];
            var at = $"peers[{i}]";
            if (peer is null)
            {
                errors.Add($"{at}: must not be null");
                continue;
            }

            ValidatePeer(peer, at, config.Node, baseDirectory, errors);
            if (!string.IsNullOrEmpty(peer.Id) && !seen.Add(peer.Id))
            {
                errors.Add($"{at}.id: '{peer.Id}' is configured more than once");
            }
        }

        for (var i = 0; i < config.TrustedOrigins.Count; i++)
        {
            var origin = config.TrustedOrigins[i];
            var at = $"trustedOrigins[{i}]";
            if (origin is null)
            {
                errors.Add($"{at}: must not be null");
                continue;
            }

            if (!TrustDomains.IsValid(origin.TrustDomain, out var domainError))
            {
                errors.Add($"{at}.trustDomain: {domainError}");
            }
            else if (origin.TrustDomain == config.Node?.TrustDomain)
            {
                errors.Add($"{at}.trustDomain: '{origin.TrustDomain}' is this node's own domain");
            }

            var rootOk = RequireFile(origin.Root, $"{at}.root", baseDirectory, errors);
            if (!SpkiPin.TryNormalize(origin.RootPin, out var pin, out var pinError))
            {
                errors.Add($"{at}.rootPin: {pinError}");
            }
            else if (rootOk)
            {
                CheckRootPin(Path.GetFullPath(origin.Root, baseDirectory), pin, at, errors);
            }
        }

        if (config.Taxii is not null)
        {
            TaxiiConfigValidator.Validate(config.Taxii, config.Node, errors);
        }

        if (config.Console is not null)
        {
            ConsoleConfigValidator.Validate(config.Console, config.Node, config.Taxii, errors);
        }

        ValidateStorage(config.Storage, errors);
        return errors;
    }

    /// <summary>
    /// <c>storage.postgres</c>: a connection string Npgsql accepts, naming a host and a database, and a lease in range.
    /// Whether the server answers is checked when the node opens the store (one message naming the server).
    /// </summary>
    private static void ValidateStorage(StorageConfig? storage, List<string> errors)
    {
        if (storage is null)
        {
            return;
        }

        if (storage.Postgres is not { } postgres)
        {
            errors.Add("storage: give storage.postgres (PostgreSQL), or leave storage out for the SQLite file in node.storage");
            return;
        }

        if (string.IsNullOrWhiteSpace(postgres.ConnectionString))
        {
            errors.Add("storage.postgres.connectionString: required, e.g. \"Host=db1;Port=5432;Database=cybercoop;Username=gateway;Password=...\"");
        }
        else
        {
            try
            {
                var builder = new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString);
                if (string.IsNullOrWhiteSpace(builder.Host))
                {
                    errors.Add("storage.postgres.connectionString: names no Host (the PostgreSQL server, e.g. Host=db1)");
                }

                if (string.IsNullOrWhiteSpace(builder.Database))
                {
                    errors.Add("storage.postgres.connectionString: names no Database (e.g. Database=cybercoop)");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or KeyNotFoundException)
            {
                // The message names the bad keyword; the string itself may hold a password and is not repeated.
                errors.Add($"storage.postgres.connectionString: not a valid connection string: {ex.Message}");
            }
        }

        if (postgres.OutboxLeaseSeconds is < 5 or > 600)
        {
            errors.Add($"storage.postgres.outboxLeaseSeconds: must be 5-600, got {postgres.OutboxLeaseSeconds}");
        }
    }

    private static void ValidateNode(NodeConfig? node, string baseDirectory, List<string> errors)
    {
        if (node is null)
        {
            errors.Add("node: required");
            return;
        }

        if (!TrustDomains.IsValid(node.TrustDomain, out var domainError))
        {
            errors.Add($"node.trustDomain: {domainError}");
        }

        if (!IsValidName(node.Name))
        {
            errors.Add($"node.name: '{node.Name}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'");
        }

        var listenValid = TryParseListen(node.Listen, out var listen);
        if (!listenValid)
        {
            errors.Add($"node.listen: '{node.Listen}' is not host:port with a port 0-65535 (e.g. 127.0.0.1:7400; 0 picks a free port)");
        }

        if (node.MetricsListen is not null)
        {
            if (!TryParseListen(node.MetricsListen, out var metrics))
            {
                errors.Add($"node.metricsListen: '{node.MetricsListen}' is not host:port with a port 0-65535 (e.g. 127.0.0.1:9464; 0 picks a free port)");
            }
            else if (listenValid && metrics.Port != 0 && metrics.Port == listen.Port)
            {
                errors.Add($"node.metricsListen: port {metrics.Port} is already the mTLS port of node.listen; metrics are served in plain HTTP and need a port of their own");
            }
        }

        if (node.Tls is null)
        {
            errors.Add("node.tls: required");
        }
        else
        {
            RequireFile(node.Tls.Certificate, "node.tls.certificate", baseDirectory, errors);
            RequireFile(node.Tls.Key, "node.tls.key", baseDirectory, errors);
            RequireFile(node.Tls.Root, "node.tls.root", baseDirectory, errors);
        }

        RequirePath(node.KeysDirectory, "node.keysDirectory", errors);
        RequirePath(node.Storage, "node.storage", errors);
        RequirePath(node.AdminSocket, "node.adminSocket", errors);
        if (!s_suites.Contains(node.Suite ?? ""))
        {
            errors.Add($"node.suite: '{node.Suite}' must be 'hybrid' or 'classic'");
        }

        if (!s_suites.Contains(node.MinimumSuite ?? ""))
        {
            errors.Add($"node.minimumSuite: '{node.MinimumSuite}' must be 'hybrid' or 'classic'");
        }
        else if (node.Suite == "classic" && node.MinimumSuite == "hybrid")
        {
            errors.Add("node.minimumSuite: 'hybrid' is stronger than node.suite 'classic'");
        }

        Range(node.StorageMaxMegabytes, 0, 16 * 1024 * 1024, "node.storageMaxMegabytes", errors);
        Range(node.ReplayWindowSeconds, 10, 86_400, "node.replayWindowSeconds", errors);
        Range(node.MaxClockSkewSeconds, 0, 3_600, "node.maxClockSkewSeconds", errors);
        Range(node.MaxHops, 0, BundleProtection.MaxRelayHops, "node.maxHops", errors);
        Range(node.TrustBundleRefreshSeconds, 1, 86_400, "node.trustBundleRefreshSeconds", errors);
        ValidateKeyRotation(node, errors);
        Range(node.SightingsReportSeconds, 60, 86_400, "node.sightingsReportSeconds", errors);
        Lifecycle.ExpiryPolicy.Validate(node.Expiry, errors);
        ValidateLimits(node.Limits, errors);
        ValidateReconnect(node.Reconnect, errors);
        ValidateKeepalive(node.Keepalive, errors);
        if (node.Bundle is null)
        {
            errors.Add("node.bundle: must not be null");
        }
        else
        {
            Range(node.Bundle.MaxIndicators, 1, BundleProtection.MaxIndicators, "node.bundle.maxIndicators", errors);
            Range(node.Bundle.LingerMilliseconds, 1, 60_000, "node.bundle.lingerMilliseconds", errors);
        }

        if (node.Tls is not null && !string.IsNullOrWhiteSpace(node.Tls.Root) && File.Exists(Path.GetFullPath(node.Tls.Root, baseDirectory))
            && TrustDomains.IsValid(node.TrustDomain, out _))
        {
            OwnTrustBundle.Check(node, baseDirectory, TimeProvider.System.GetUtcNow(), errors);
        }
        else if (string.IsNullOrWhiteSpace(node.TrustBundle))
        {
            errors.Add("node.trustBundle: required");
        }
    }

    private static void ValidatePeer(PeerConfig peer, string at, NodeConfig? node, string baseDirectory, List<string> errors)
    {
        if (!SpiffeId.TryParse(peer.Id, out var id, out var idError))
        {
            errors.Add($"{at}.id: {idError}");
        }
        else
        {
            if (id.Kind != WorkloadKind.Gateway)
            {
                errors.Add($"{at}.id: '{peer.Id}' is not a gateway (expected spiffe://<domain>/gateway/<name>)");
            }

            if (!string.Equals(id.TrustDomain, peer.TrustDomain, StringComparison.Ordinal))
            {
                errors.Add($"{at}.trustDomain: '{peer.TrustDomain}' does not match the trust domain of id '{peer.Id}'");
            }

            if (node is not null && id.TrustDomain == node.TrustDomain && id.Name == node.Name)
            {
                errors.Add($"{at}.id: '{peer.Id}' is this node itself");
            }
        }

        if (!TrustDomains.IsValid(peer.TrustDomain, out var domainError))
        {
            errors.Add($"{at}.trustDomain: {domainError}");
        }

        if (!Uri.TryCreate(peer.Address, UriKind.Absolute, out var address) || address.Scheme != Uri.UriSchemeHttps
            || address.AbsolutePath != "/" || !string.IsNullOrEmpty(address.Query))
        {
            errors.Add($"{at}.address: '{peer.Address}' must be https://host:port");
        }

        var rootOk = RequireFile(peer.Root, $"{at}.root", baseDirectory, errors);
        if (!SpkiPin.TryNormalize(peer.RootPin, out var pin, out var pinError))
        {
            errors.Add($"{at}.rootPin: {pinError}");
        }
        else if (rootOk)
        {
            CheckRootPin(Path.GetFullPath(peer.Root, baseDirectory), pin, $"{at}", errors);
        }

        if (peer.Suite is not null && !s_suites.Contains(peer.Suite))
        {
            errors.Add($"{at}.suite: '{peer.Suite}' must be 'hybrid', 'classic' or absent");
        }
        else if (peer.Suite == "classic" && node?.MinimumSuite == "hybrid")
        {
            errors.Add($"{at}.suite: 'classic' is below node.minimumSuite 'hybrid'");
        }

        ValidateOutbound(peer.Outbound, at + ".outbound", errors);
        ValidateInbound(peer.Inbound, at + ".inbound", errors);
        if (!Lifecycle.SightingsBackLevels.TryParse(peer.SightingsBack, out _))
        {
            errors.Add($"{at}.sightingsBack: '{peer.SightingsBack}' must be 'off', 'counts' or 'counts+sector'");
        }
    }

    private static void CheckRootPin(string rootPath, string pin, string at, List<string> errors)
    {
        try
        {
            using var root = PemFiles.LoadCertificate(rootPath);
            if (!SpkiPin.Matches(root, pin))
            {
                errors.Add($"{at}.rootPin: does not match the root certificate in {at}.root (its pin is {SpkiPin.Compute(root)})");
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or FormatException or UnauthorizedAccessException)
        {
            errors.Add($"{at}.root: cannot read a PEM certificate from '{rootPath}': {ex.Message}");
        }
    }

    private static void ValidateOutbound(OutboundPolicyConfig? policy, string at, List<string> errors)
    {
        if (policy is null)
        {
            errors.Add($"{at}: must not be null");
            return;
        }

        if (!TlpNames.TryParse(policy.TlpCeiling, out var ceiling))
        {
            errors.Add($"{at}.tlpCeiling: '{policy.TlpCeiling}' must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED");
        }
        else if (ceiling == Contracts.V1.Tlp.Red && !policy.AllowRed)
        {
            errors.Add($"{at}.tlpCeiling: RED also needs allowRed: true (RED is shared only with peers named for it)");
        }

        CheckTypes(policy.AllowedTypes, at + ".allowedTypes", errors);
        Range(policy.MinConfidence, 0, 100, at + ".minConfidence", errors);
        CheckLabels(policy.Sectors, at + ".sectors", errors);
        CheckLabels(policy.BlockedTags, at + ".blockedTags", errors);
        CheckLabels(policy.RequiredTags, at + ".requiredTags", errors);
        if (policy.Redact is not null)
        {
            for (var i = 0; i < policy.Redact.Count; i++)
            {
                if (!RedactableFields.All.Contains(policy.Redact[i] ?? ""))
                {
                    errors.Add($"{at}.redact[{i}]: '{policy.Redact[i]}' is not a redactable field ({string.Join(", ", RedactableFields.All)})");
                }
            }
        }

        Range(policy.EmbargoSeconds, 0, 30 * 86_400, at + ".embargoSeconds", errors);
    }

    private static void ValidateInbound(InboundPolicyConfig? policy, string at, List<string> errors)
    {
        if (policy is null)
        {
            errors.Add($"{at}: must not be null");
            return;
        }

        if (policy.Mode is not ("accept" or "quarantine"))
        {
            errors.Add($"{at}.mode: '{policy.Mode}' must be 'accept' or 'quarantine'");
        }

        if (!(policy.TrustWeight >= 0 && policy.TrustWeight <= 1))
        {
            errors.Add($"{at}.trustWeight: {policy.TrustWeight} must be between 0 and 1");
        }

        CheckTypes(policy.AllowedTypes, at + ".allowedTypes", errors);
        if (!TlpNames.TryParse(policy.TlpFloor, out _))
        {
            errors.Add($"{at}.tlpFloor: '{policy.TlpFloor}' must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED");
        }
    }

    private static void CheckTypes(IReadOnlyList<string>? types, string at, List<string> errors)
    {
        for (var i = 0; i < (types?.Count ?? 0); i++)
        {
            if (!IndicatorTypeNames.TryParse(types![i], out _))
            {
                errors.Add($"{at}[{i}]: '{types[i]}' is not an indicator type ({string.Join(", ", s_typeNames)})");
            }
        }
    }

    private static void CheckLabels(IReadOnlyList<string>? labels, string at, List<string> errors)
    {
        for (var i = 0; i < (labels?.Count ?? 0); i++)
        {
            var label = labels![i];
            if (string.IsNullOrWhiteSpace(label) || label.Length > 64)
            {
                errors.Add($"{at}[{i}]: must be 1-64 characters");
            }
        }
    }

    private static bool RequireFile(string? path, string at, string baseDirectory, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{at}: required");
            return false;
        }

        var full = Path.GetFullPath(path, baseDirectory);
        if (!File.Exists(full))
        {
            errors.Add($"{at}: file '{full}' does not exist");
            return false;
        }

        return true;
    }

    private static void RequirePath(string? path, string at, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{at}: required");
        }
    }

    /// <summary>
    /// Key rotation: new keys are announced 1-100 refresh intervals ahead (at most 30 days), and a retired key's grace
    /// covers at least the replay window and two refresh intervals (a late sender still refreshes in time), at most a year.
    /// </summary>
    private static void ValidateKeyRotation(NodeConfig node, List<string> errors)
    {
        if (node.KeyRotation is not { } rotation)
        {
            errors.Add("node.keyRotation: must not be null");
            return;
        }

        Range(rotation.AnnounceAheadIntervals, 1, 100, "node.keyRotation.announceAheadIntervals", errors);
        Range(rotation.RetiredGraceSeconds, 60, 365 * 86_400, "node.keyRotation.retiredGraceSeconds", errors);
        if ((long)rotation.AnnounceAheadIntervals * node.TrustBundleRefreshSeconds > 30L * 86_400)
        {
            errors.Add($"node.keyRotation.announceAheadIntervals: {rotation.AnnounceAheadIntervals} x node.trustBundleRefreshSeconds " +
                $"{node.TrustBundleRefreshSeconds} puts new keys more than 30 days ahead");
        }

        var minimumGrace = Math.Max((long)node.ReplayWindowSeconds, 2L * node.TrustBundleRefreshSeconds);
        if (rotation.RetiredGraceSeconds >= 60 && rotation.RetiredGraceSeconds < minimumGrace)
        {
            errors.Add($"node.keyRotation.retiredGraceSeconds: {rotation.RetiredGraceSeconds} must be at least node.replayWindowSeconds " +
                $"and twice node.trustBundleRefreshSeconds ({minimumGrace}), or senders that refresh late lose envelopes");
        }
    }

    private static void ValidateLimits(LimitsConfig? limits, List<string> errors)
    {
        if (limits is null)
        {
            errors.Add("node.limits: must not be null");
            return;
        }

        Range(limits.AgentSightingsPerSecond, 1, 1_000_000, "node.limits.agentSightingsPerSecond", errors);
        if (limits.AgentSightingsBurst < Ingest.IngestService.MaxBatchItems)
        {
            errors.Add($"node.limits.agentSightingsBurst: {limits.AgentSightingsBurst} must hold at least one full batch ({Ingest.IngestService.MaxBatchItems} sightings), or such a batch is never admitted");
        }
        else
        {
            Range(limits.AgentSightingsBurst, Ingest.IngestService.MaxBatchItems, 10_000_000, "node.limits.agentSightingsBurst", errors);
        }

        Range(limits.AgentMaxStreams, 1, 1_000, "node.limits.agentMaxStreams", errors);
        Range(limits.PeerEnvelopesPerSecond, 1, 100_000, "node.limits.peerEnvelopesPerSecond", errors);
        Range(limits.PeerEnvelopesBurst, 1, 1_000_000, "node.limits.peerEnvelopesBurst", errors);
        Range(limits.PeerMaxStreams, 1, 1_000, "node.limits.peerMaxStreams", errors);
        Range(limits.CallerMaxConnections, 1, 1_000, "node.limits.callerMaxConnections", errors);
    }

    private static void ValidateReconnect(ReconnectConfig? reconnect, List<string> errors)
    {
        if (reconnect is null)
        {
            errors.Add("node.reconnect: must not be null");
            return;
        }

        Range(reconnect.MinBackoffMilliseconds, 10, 60_000, "node.reconnect.minBackoffMilliseconds", errors);
        Range(reconnect.MaxBackoffSeconds, 1, 3_600, "node.reconnect.maxBackoffSeconds", errors);
        Range(reconnect.DeniedMaxBackoffSeconds, 1, 86_400, "node.reconnect.deniedMaxBackoffSeconds", errors);
        if (reconnect.MaxBackoffSeconds * 1_000L < reconnect.MinBackoffMilliseconds)
        {
            errors.Add($"node.reconnect.maxBackoffSeconds: {reconnect.MaxBackoffSeconds} s is shorter than node.reconnect.minBackoffMilliseconds {reconnect.MinBackoffMilliseconds} ms");
        }

        if (reconnect.DeniedMaxBackoffSeconds < reconnect.MaxBackoffSeconds)
        {
            errors.Add($"node.reconnect.deniedMaxBackoffSeconds: {reconnect.DeniedMaxBackoffSeconds} must be at least node.reconnect.maxBackoffSeconds ({reconnect.MaxBackoffSeconds})");
        }
    }

    private static void ValidateKeepalive(KeepaliveConfig? keepalive, List<string> errors)
    {
        if (keepalive is null)
        {
            errors.Add("node.keepalive: must not be null");
            return;
        }

        Range(keepalive.IntervalSeconds, 1, 3_600, "node.keepalive.intervalSeconds", errors);
        Range(keepalive.TimeoutSeconds, 1, 600, "node.keepalive.timeoutSeconds", errors);
    }

    private static void Range(int value, int min, int max, string at, List<string> errors)
    {
        if (value < min || value > max)
        {
            errors.Add($"{at}: {value} must be between {min} and {max}");
        }
    }

    /// <summary>True for a SPIFFE path segment we allow as a workload name.</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && name != "." && name != ".."
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.');

    /// <summary>Parses <c>host:port</c> / <c>[v6]:port</c> / <c>localhost:port</c>.</summary>
    public static bool TryParseListen(string? listen, out IPEndPoint endPoint)
    {
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        if (string.IsNullOrEmpty(listen))
        {
            return false;
        }

        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen.AsSpan(colon + 1), out var port) || port is < 0 or > 65_535)
        {
            return false;
        }

        var host = listen[..colon].Trim('[', ']');
        if (host == "localhost")
        {
            endPoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }
}
