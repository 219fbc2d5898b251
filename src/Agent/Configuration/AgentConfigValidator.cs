using System.Net;
using System.Text.RegularExpressions;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Configuration;

/// <summary>
/// Validates an <see cref="AgentConfig"/> without short-circuiting, so the operator sees every
/// problem at once; each message starts with the JSON path of the field. Relative paths are
/// resolved against the config file's folder.
/// </summary>
internal static partial class AgentConfigValidator
{
    /// <summary>Largest batch the gateway accepts.</summary>
    public const int MaxBatchItems = 5000;

    /// <summary>Returns every problem; when there are none, <paramref name="settings"/> is set.</summary>
    public static List<string> Validate(AgentConfig config, string baseDirectory, out AgentSettings? settings)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(baseDirectory);
        var errors = new List<string>();
        settings = null;

        if (string.IsNullOrWhiteSpace(config.Name))
        {
            errors.Add("name: required (the agent's name, the last segment of its SPIFFE id)");
        }
        else if (!NamePattern().IsMatch(config.Name))
        {
            errors.Add($"name: '{config.Name}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'");
        }

        if (string.IsNullOrWhiteSpace(config.TrustDomain))
        {
            errors.Add("trustDomain: required (e.g. \"ee.cybercoop\")");
        }
        else if (!TrustDomainPattern().IsMatch(config.TrustDomain))
        {
            errors.Add($"trustDomain: '{config.TrustDomain}' is not a trust domain name (lower-case letters, digits, '.', '-', '_')");
        }

        Uri? address = null;
        if (config.Gateway is null)
        {
            errors.Add("gateway: required");
        }
        else
        {
            if (string.IsNullOrWhiteSpace(config.Gateway.Address))
            {
                errors.Add("gateway.address: required (e.g. \"https://gateway.example:7401\")");
            }
            else if (!Uri.TryCreate(config.Gateway.Address, UriKind.Absolute, out address) || address.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add($"gateway.address: '{config.Gateway.Address}' must be an absolute https:// URL");
                address = null;
            }

            if (config.Gateway.ExpectedId is { } expected && config.TrustDomain is { } td
                && !expected.StartsWith($"spiffe://{td}/gateway/", StringComparison.Ordinal))
            {
                errors.Add($"gateway.expectedId: '{expected}' must be spiffe://{td}/gateway/<name>");
            }
        }

        string? cert = null, key = null, root = null;
        if (config.Tls is null)
        {
            errors.Add("tls: required (certificate, key, root, rootPin)");
        }
        else
        {
            cert = RequireFile(config.Tls.Certificate, "tls.certificate", baseDirectory, errors);
            key = RequireFile(config.Tls.Key, "tls.key", baseDirectory, errors);
            root = RequireFile(config.Tls.Root, "tls.root", baseDirectory, errors);
            if (string.IsNullOrWhiteSpace(config.Tls.RootPin))
            {
                errors.Add("tls.rootPin: required (the SHA-256 SPKI pin of the root, from `certs fingerprint`)");
            }
        }

        var homeNet = new List<IPNetwork>();
        for (var i = 0; i < (config.HomeNet?.Count ?? 0); i++)
        {
            var text = config.HomeNet![i];
            if (text is null || !NetworkParsing.TryParseNetwork(text.Trim(), out var net))
            {
                errors.Add($"homeNet[{i}]: '{text}' is not a CIDR (e.g. \"10.0.0.0/8\") or address");
            }
            else
            {
                homeNet.Add(net);
            }
        }

        var allowlist = new List<string>();
        for (var i = 0; i < (config.Allowlist?.Count ?? 0); i++)
        {
            var text = config.Allowlist![i];
            if (string.IsNullOrWhiteSpace(text))
            {
                errors.Add($"allowlist[{i}]: must not be empty");
            }
            else
            {
                allowlist.Add(text);
            }
        }

        var sources = new List<SourceSettings>();
        if (config.Sources is null || config.Sources.Count == 0)
        {
            errors.Add("sources: at least one source is required");
        }
        else
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < config.Sources.Count; i++)
            {
                var s = ValidateSource(config.Sources[i], $"sources[{i}]", config.Name, baseDirectory, errors);
                if (s is not null)
                {
                    if (!names.Add(s.Name))
                    {
                        errors.Add($"sources[{i}].name: '{s.Name}' is used by another source");
                    }

                    sources.Add(s);
                }
            }
        }

        var spoolDir = Path.GetFullPath(config.Spool?.Directory ?? "spool", baseDirectory);
        var spoolMax = config.Spool?.MaxBytes ?? 1L << 30;
        if (spoolMax < 1024 * 1024)
        {
            errors.Add($"spool.maxBytes: {spoolMax} is below the minimum of 1048576 (1 MiB)");
        }

        var maxItems = config.Batch?.MaxItems ?? 1000;
        if (maxItems is < 1 or > MaxBatchItems)
        {
            errors.Add($"batch.maxItems: {maxItems} must be between 1 and {MaxBatchItems}");
        }

        var linger = config.Batch?.LingerMilliseconds ?? 1000;
        if (linger is < 0 or > 600_000)
        {
            errors.Add($"batch.lingerMilliseconds: {linger} must be between 0 and 600000");
        }

        var maxLine = config.MaxLineBytes ?? FileParser.DefaultMaxLineBytes;
        if (maxLine is < 1024 or > 64 * 1024 * 1024)
        {
            errors.Add($"maxLineBytes: {maxLine} must be between 1024 and 67108864");
        }

        var poll = config.PollMilliseconds ?? 250;
        if (poll is < 10 or > 60_000)
        {
            errors.Add($"pollMilliseconds: {poll} must be between 10 and 60000");
        }

        var grace = config.RotationGraceSeconds ?? (int)AgentSettings.DefaultRotationGrace.TotalSeconds;
        if (grace is < 0 or > 3600)
        {
            errors.Add($"rotationGraceSeconds: {grace} must be between 0 and 3600");
        }

        var keepaliveInterval = config.Gateway?.Keepalive?.IntervalSeconds ?? (int)AgentSettings.DefaultKeepaliveInterval.TotalSeconds;
        if (keepaliveInterval is < 1 or > 3600)
        {
            errors.Add($"gateway.keepalive.intervalSeconds: {keepaliveInterval} must be between 1 and 3600");
        }

        var keepaliveTimeout = config.Gateway?.Keepalive?.TimeoutSeconds ?? (int)AgentSettings.DefaultKeepaliveTimeout.TotalSeconds;
        if (keepaliveTimeout is < 1 or > 600)
        {
            errors.Add($"gateway.keepalive.timeoutSeconds: {keepaliveTimeout} must be between 1 and 600");
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        settings = new AgentSettings
        {
            Name = config.Name!,
            TrustDomain = config.TrustDomain!,
            GatewayAddress = address!,
            ExpectedGatewayId = config.Gateway!.ExpectedId,
            CertificatePath = cert!,
            KeyPath = key!,
            RootPath = root!,
            RootPin = config.Tls!.RootPin!.Trim(),
            Filter = new SightingFilter(homeNet, allowlist),
            Sources = sources,
            SpoolDirectory = spoolDir,
            SpoolMaxBytes = spoolMax,
            BatchMaxItems = maxItems,
            BatchLinger = TimeSpan.FromMilliseconds(linger),
            StateFile = Path.GetFullPath(config.StateFile ?? "agent-state.json", baseDirectory),
            MaxLineBytes = maxLine,
            PollInterval = TimeSpan.FromMilliseconds(poll),
            RotationGrace = TimeSpan.FromSeconds(grace),
            KeepaliveInterval = TimeSpan.FromSeconds(keepaliveInterval),
            KeepaliveTimeout = TimeSpan.FromSeconds(keepaliveTimeout),
        };
        return errors;
    }

    private static SourceSettings? ValidateSource(SourceConfig? source, string at, string? agentName, string baseDirectory, List<string> errors)
    {
        if (source is null)
        {
            errors.Add($"{at}: must not be null");
            return null;
        }

        var before = errors.Count;
        var name = source.Name ?? agentName ?? "agent";
        if (!NamePattern().IsMatch(name))
        {
            errors.Add($"{at}.name: '{name}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'");
        }

        string? path = null;
        FeedSettings? feed = null;
        if (source.Url is not null)
        {
            feed = ValidateFeed(source, at, baseDirectory, errors);
            path = feed?.BaseUrl.AbsoluteUri;
        }
        else if (source.PollSeconds is not null || source.CaFile is not null || source.TimeoutSeconds is not null || source.MaxBytes is not null)
        {
            errors.Add($"{at}: pollSeconds, caFile, timeoutSeconds and maxBytes apply to a misp-feed url only");
        }

        if (source.Url is not null)
        {
            if (source.Path is not null)
            {
                errors.Add($"{at}: give either path or url, not both");
            }
        }
        else if (string.IsNullOrWhiteSpace(source.Path))
        {
            errors.Add($"{at}.path: required (a file, or a file name with * and ? wildcards; or \"url\" for a misp-feed over https)");
        }
        else
        {
            path = Path.GetFullPath(source.Path, baseDirectory);
            var dir = Path.GetDirectoryName(path);
            if (dir is null || dir.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                errors.Add($"{at}.path: wildcards are allowed in the file name only");
            }
        }

        if (!SourceFormats.TryParse(source.Format, out var format))
        {
            errors.Add($"{at}.format: '{source.Format}' must be one of {SourceFormats.Names}");
        }

        var tlp = Tlp.Amber;
        if (source.Tlp is not null && !IndicatorTypeNames.TryParseTlp(source.Tlp, out tlp))
        {
            errors.Add($"{at}.tlp: '{source.Tlp}' must be CLEAR, GREEN, AMBER, AMBER+STRICT or RED");
        }

        if (source.Confidence is < 0 or > 100)
        {
            errors.Add($"{at}.confidence: {source.Confidence} must be between 0 and 100");
        }

        var tags = Labels(source.Tags, $"{at}.tags", errors);
        var sectors = Labels(source.Sectors, $"{at}.sectors", errors);
        var startAtEnd = false;
        if (source.StartAt is not null)
        {
            if (source.StartAt.Equals("end", StringComparison.OrdinalIgnoreCase))
            {
                startAtEnd = true;
            }
            else if (!source.StartAt.Equals("beginning", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{at}.startAt: '{source.StartAt}' must be \"beginning\" or \"end\"");
            }
        }

        if (source.Url is not null && source.Format is not null && format != SourceFormat.MispFeed)
        {
            errors.Add($"{at}.url: only the misp-feed format is read from a URL ('{source.Format}' reads files: use path)");
        }

        var mapping = ValidateMapping(source.Mapping, $"{at}.mapping", errors);
        if (mapping is null && source.Mapping is null && format is SourceFormat.Jsonl or SourceFormat.Csv && source.Format is not null)
        {
            errors.Add($"{at}.mapping: required for {source.Format} (at least \"value\")");
        }

        if (errors.Count > before)
        {
            return null;
        }

        return new SourceSettings
        {
            Name = name,
            Path = path!,
            Feed = feed,
            Format = format,
            Mapping = mapping,
            StartAtEnd = startAtEnd,
            Profile = new SourceProfile
            {
                Sensor = name,
                Tlp = tlp,
                Confidence = source.Confidence is { } c ? (uint)c : null,
                Tags = tags,
                Sectors = sectors,
            },
        };
    }

    /// <summary>Validates a mapping; null when absent or invalid (errors added).</summary>
    public static FieldMapping? ValidateMapping(FieldMappingConfig? m, string at, List<string> errors)
    {
        if (m is null)
        {
            return null;
        }

        var before = errors.Count;
        if (string.IsNullOrWhiteSpace(m.Value))
        {
            errors.Add($"{at}.value: required (the field or column holding the observable)");
        }

        var fixedType = IndicatorType.Unspecified;
        if (m.FixedType is not null && !IndicatorTypeNames.IsAuto(m.FixedType) && !IndicatorTypeNames.TryParse(m.FixedType, out fixedType))
        {
            errors.Add($"{at}.fixedType: '{m.FixedType}' must be one of {IndicatorTypeNames.Names}");
        }

        if (m.Type is not null && m.FixedType is not null)
        {
            errors.Add($"{at}.type: give either type (a field) or fixedType, not both");
        }

        var delimiter = ',';
        if (m.Delimiter is not null)
        {
            var d = m.Delimiter == "\\t" ? "\t" : m.Delimiter;
            if (d.Length != 1 || d[0] == '"')
            {
                errors.Add($"{at}.delimiter: '{m.Delimiter}' must be one character (use \"\\t\" for tab)");
            }
            else
            {
                delimiter = d[0];
            }
        }

        if (errors.Count > before)
        {
            return null;
        }

        return new FieldMapping
        {
            ValueField = m.Value!,
            TypeField = m.Type,
            FixedType = fixedType,
            TimestampField = m.Timestamp,
            ConfidenceField = m.Confidence,
            TlpField = m.Tlp,
            TagsField = m.Tags,
            DescriptionField = m.Description,
            ValidUntilField = m.ValidUntil,
            ContextFields = m.Context ?? [],
            Delimiter = delimiter,
        };
    }

    private static string[] Labels(IReadOnlyList<string>? labels, string at, List<string> errors)
    {
        if (labels is null)
        {
            return [];
        }

        var result = new List<string>();
        for (var i = 0; i < labels.Count; i++)
        {
            var l = labels[i]?.Trim();
            if (string.IsNullOrEmpty(l) || l.Length > 64)
            {
                errors.Add($"{at}[{i}]: must be 1-64 characters");
            }
            else
            {
                result.Add(l.ToLowerInvariant());
            }
        }

        return [.. result];
    }

    private static FeedSettings? ValidateFeed(SourceConfig source, string at, string baseDirectory, List<string> errors)
    {
        var before = errors.Count;
        Uri? url = null;
        if (!Uri.TryCreate(source.Url, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add($"{at}.url: '{source.Url}' must be an absolute https:// URL (plain http is refused: the feed is not authenticated otherwise)");
        }
        else if (parsed.UserInfo.Length > 0)
        {
            errors.Add($"{at}.url: must not carry a user name or password (it would be written to logs)");
        }
        else if (parsed.Query.Length > 0 || parsed.Fragment.Length > 0)
        {
            errors.Add($"{at}.url: must not carry a query or fragment (give the feed folder, e.g. https://host/feeds/osint/)");
        }
        else
        {
            // The feed folder: "…/manifest.json" is accepted and means its folder; a trailing '/' is added.
            var text = parsed.AbsoluteUri;
            if (text.EndsWith("/manifest.json", StringComparison.Ordinal))
            {
                text = text[..^"manifest.json".Length];
            }

            url = new Uri(text.EndsWith('/') ? text : text + "/");
        }

        if (source.PollSeconds is < 1 or > 86_400)
        {
            errors.Add($"{at}.pollSeconds: {source.PollSeconds} must be between 1 and 86400");
        }

        if (source.TimeoutSeconds is < 1 or > 600)
        {
            errors.Add($"{at}.timeoutSeconds: {source.TimeoutSeconds} must be between 1 and 600");
        }

        if (source.MaxBytes is < 1024 or > 256L * 1024 * 1024)
        {
            errors.Add($"{at}.maxBytes: {source.MaxBytes} must be between 1024 and 268435456");
        }

        var ca = source.CaFile is null ? null : RequireFile(source.CaFile, $"{at}.caFile", baseDirectory, errors);
        if (ca is not null && !Feeds.FeedTrust.TryLoad(ca, out _, out var problem))
        {
            errors.Add($"{at}.caFile: {problem}");
        }

        if (errors.Count > before || url is null)
        {
            return null;
        }

        return new FeedSettings
        {
            BaseUrl = url,
            PollInterval = source.PollSeconds is { } p ? TimeSpan.FromSeconds(p) : FeedSettings.DefaultPollInterval,
            Timeout = source.TimeoutSeconds is { } t ? TimeSpan.FromSeconds(t) : FeedSettings.DefaultTimeout,
            MaxBytes = source.MaxBytes ?? FeedSettings.DefaultMaxBytes,
            CaFile = ca,
        };
    }

    private static string? RequireFile(string? path, string field, string baseDirectory, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{field}: required");
            return null;
        }

        var full = Path.GetFullPath(path, baseDirectory);
        if (!File.Exists(full))
        {
            errors.Add($"{field}: file '{full}' not found");
            return null;
        }

        return full;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z0-9]([a-z0-9._-]{0,253}[a-z0-9])?$")]
    private static partial Regex TrustDomainPattern();
}
