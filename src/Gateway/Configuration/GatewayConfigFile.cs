using System.Text.Json;
using System.Text.Json.Nodes;
using CyberCoop.Configuration;

namespace CyberCoop.Gateway.Configuration;

/// <summary>Reads, validates and safely rewrites <c>gateway.json</c>.</summary>
internal static class GatewayConfigFile
{
    /// <summary>Largest config file accepted.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Loads and validates a config file. Throws <see cref="GatewayConfigException"/> listing every
    /// problem (missing file, JSON syntax with line and column, unknown fields, invalid values).
    /// </summary>
    public static LoadedConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        var typeErrors = new List<string>();
        var config = Parse(fullPath, typeErrors);
        var baseDirectory = System.IO.Path.GetDirectoryName(fullPath)!;

        // Type errors and validation errors together; a field whose value was mistyped (and so removed) is reported
        // once, with its type error, not again as "required".
        var mistyped = typeErrors.Select(ConfigJsonShape.PathOf).ToList();
        var errors = typeErrors
            .Concat(GatewayConfigValidator.Validate(config, baseDirectory).Where(e => !ConfigJsonShape.IsAbout(e, mistyped)))
            .ToList();
        if (errors.Count > 0)
        {
            throw new GatewayConfigException(fullPath, errors);
        }

        return new LoadedConfig(fullPath, baseDirectory, config);
    }

    /// <summary>
    /// Parses without validating (for tools that repair or edit a file). Throws <see cref="GatewayConfigException"/>
    /// listing every type error and unknown field at once.
    /// </summary>
    public static GatewayConfig Parse(string fullPath)
    {
        var typeErrors = new List<string>();
        var config = Parse(fullPath, typeErrors);
        return typeErrors.Count > 0 ? throw new GatewayConfigException(fullPath, typeErrors) : config;
    }

    /// <summary>
    /// Parses, adding every type error and unknown field to <paramref name="typeErrors"/> and leaving those fields at
    /// their defaults, so that the rest can still be validated. Throws for what cannot be read at all.
    /// </summary>
    private static GatewayConfig Parse(string fullPath, List<string> typeErrors)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(fullPath);
            if (!info.Exists)
            {
                throw new GatewayConfigException(fullPath, [$"config file '{fullPath}' does not exist"]);
            }

            if (info.Length > MaxBytes)
            {
                throw new GatewayConfigException(fullPath, [$"config file is {info.Length} bytes; the limit is {MaxBytes}"]);
            }

            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigException(fullPath, [$"config file '{fullPath}' cannot be read: {ex.Message}"]);
        }

        try
        {
            var typeInfo = GatewayConfigJsonContext.Default.GatewayConfig;
            var config = JsonSerializer.Deserialize(ConfigJsonShape.RemoveMistypedValues(bytes, typeInfo, typeErrors, DefaultsOf), typeInfo)
                ?? throw new GatewayConfigException(fullPath, ["config file is empty (null)"]);

            // A list the file sets to null explicitly is an empty list.
            return config.Peers is null || config.TrustedOrigins is null
                ? config with { Peers = config.Peers ?? [], TrustedOrigins = config.TrustedOrigins ?? [] }
                : config;
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, column {(ex.BytePositionInLine ?? 0) + 1}" : "";
            var field = string.IsNullOrEmpty(ex.Path) ? "" : $"{ex.Path.TrimStart('$', '.')}: ";
            throw new GatewayConfigException(fullPath, [.. typeErrors, $"{field}invalid JSON{where}: {ex.Message}"]);
        }
    }

    /// <summary>
    /// The JSON of a config section's default instance: what a field missing from the file is read as (see
    /// <see cref="ConfigJsonShape"/>: the source generator would give an init-only property missing from the file
    /// <c>default(T)</c> instead). Every object type reachable from <see cref="GatewayConfig"/> must be listed here;
    /// <c>GatewayConfigDefaultsTests</c> walks the metadata to check that.
    /// </summary>
    internal static JsonObject DefaultsOf(Type section) =>
        SectionDefaults.TryGetValue(section, out var defaults)
            ? defaults()
            : throw new InvalidOperationException($"config section {section.Name} has no defaults in GatewayConfigFile.DefaultsOf");

    /// <summary>The object types <see cref="DefaultsOf"/> knows (for the test that checks none is missing).</summary>
    internal static IEnumerable<Type> SectionsWithDefaults => SectionDefaults.Keys;

    private static GatewayConfigJsonContext Context => GatewayConfigJsonContext.Default;

    private static readonly Dictionary<Type, Func<JsonObject>> SectionDefaults = new()
    {
            [typeof(GatewayConfig)] = () => Serialize(new GatewayConfig(), Context.GatewayConfig),
            [typeof(StorageConfig)] = () => Serialize(new StorageConfig(), Context.StorageConfig),
            [typeof(PostgresConfig)] = () => Serialize(new PostgresConfig(), Context.PostgresConfig),
            [typeof(TrustedOriginConfig)] = () => Serialize(new TrustedOriginConfig(), Context.TrustedOriginConfig),
            [typeof(NodeConfig)] = () => Serialize(new NodeConfig(), Context.NodeConfig),
            [typeof(KeepaliveConfig)] = () => Serialize(new KeepaliveConfig(), Context.KeepaliveConfig),
            [typeof(LimitsConfig)] = () => Serialize(new LimitsConfig(), Context.LimitsConfig),
            [typeof(ReconnectConfig)] = () => Serialize(new ReconnectConfig(), Context.ReconnectConfig),
            [typeof(ExpiryConfig)] = () => Serialize(new ExpiryConfig(), Context.ExpiryConfig),
            [typeof(KeyRotationConfig)] = () => Serialize(new KeyRotationConfig(), Context.KeyRotationConfig),
            [typeof(TlsConfig)] = () => Serialize(new TlsConfig(), Context.TlsConfig),
            [typeof(BundleConfig)] = () => Serialize(new BundleConfig(), Context.BundleConfig),
            [typeof(PeerConfig)] = () => Serialize(new PeerConfig(), Context.PeerConfig),
            [typeof(OutboundPolicyConfig)] = () => Serialize(new OutboundPolicyConfig(), Context.OutboundPolicyConfig),
            [typeof(InboundPolicyConfig)] = () => Serialize(new InboundPolicyConfig(), Context.InboundPolicyConfig),
            [typeof(ConsoleConfig)] = () => Serialize(new ConsoleConfig(), Context.ConsoleConfig),
            [typeof(ConsoleOperatorConfig)] = () => Serialize(new ConsoleOperatorConfig(), Context.ConsoleOperatorConfig),
            [typeof(TaxiiConfig)] = () => Serialize(new TaxiiConfig(), Context.TaxiiConfig),
            [typeof(TaxiiAnalystConfig)] = () => Serialize(new TaxiiAnalystConfig(), Context.TaxiiAnalystConfig),
    };

    private static JsonObject Serialize<T>(T section, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
        JsonSerializer.SerializeToNode(section, info)!.AsObject();

    /// <summary>Serializes a config as the file would hold it.</summary>
    public static string Serialize(GatewayConfig config) =>
        JsonSerializer.Serialize(config, GatewayConfigJsonContext.Default.GatewayConfig);

    /// <summary>
    /// Validates <paramref name="config"/> and writes it atomically (temp file, fsync, rename), keeping the
    /// previous content as <c>&lt;file&gt;.bak</c>. Nothing is written when the new config is invalid.
    /// </summary>
    public static void Save(string path, GatewayConfig config)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        var errors = GatewayConfigValidator.Validate(config, System.IO.Path.GetDirectoryName(fullPath)!);
        if (errors.Count > 0)
        {
            throw new GatewayConfigException(fullPath, errors);
        }

        var temp = fullPath + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            var json = System.Text.Encoding.UTF8.GetBytes(Serialize(config) + "\n");
            stream.Write(json);
            stream.Flush(flushToDisk: true);
        }

        if (File.Exists(fullPath))
        {
            File.Copy(fullPath, fullPath + ".bak", overwrite: true);
        }

        File.Move(temp, fullPath, overwrite: true);
    }
}

/// <summary>A validated config and where it came from.</summary>
internal sealed record LoadedConfig(string Path, string BaseDirectory, GatewayConfig Config)
{
    /// <summary>Resolves a path from the config against the config file's folder.</summary>
    public string Resolve(string relative) => System.IO.Path.GetFullPath(relative, BaseDirectory);
}
