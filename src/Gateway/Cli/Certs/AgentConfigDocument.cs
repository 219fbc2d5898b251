using System.Text.Json.Serialization;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>
/// The agent's <c>agent.json</c> as agreed with the agent (the gateway does not reference the agent
/// assembly, so the shape is mirrored here for writing only). Paths are relative to the file.
/// </summary>
internal sealed record AgentConfigDocument
{
    /// <summary>Agent name (last segment of its SPIFFE id).</summary>
    public required string Name { get; init; }

    /// <summary>Own trust domain.</summary>
    public required string TrustDomain { get; init; }

    /// <summary>The gateway it feeds.</summary>
    public required AgentGatewayDocument Gateway { get; init; }

    /// <summary>mTLS material.</summary>
    public required AgentTlsDocument Tls { get; init; }

    /// <summary>Home-net CIDRs never reported as malicious.</summary>
    public required IReadOnlyList<string> HomeNet { get; init; }

    /// <summary>Values never reported.</summary>
    public IReadOnlyList<string> Allowlist { get; init; } = [];

    /// <summary>What it reads.</summary>
    public required IReadOnlyList<AgentSourceDocument> Sources { get; init; }

    /// <summary>On-disk spool while the gateway is unreachable.</summary>
    public required AgentSpoolDocument Spool { get; init; }

    /// <summary>Batching towards the gateway.</summary>
    public required AgentBatchDocument Batch { get; init; }

    /// <summary>File offsets remembered across restarts.</summary>
    public required string StateFile { get; init; }
}

/// <summary>The agent's gateway.</summary>
internal sealed record AgentGatewayDocument(string Address, string ExpectedId);

/// <summary>The agent's certificate, key and own root (with its pin).</summary>
internal sealed record AgentTlsDocument(string Certificate, string Key, string Root, string RootPin);

/// <summary>One input of the agent.</summary>
internal sealed record AgentSourceDocument(string Name, string Path, string Format, string Tlp, int Confidence, IReadOnlyList<string> Tags, IReadOnlyList<string> Sectors);

/// <summary>Spool folder and cap.</summary>
internal sealed record AgentSpoolDocument(string Directory, long MaxBytes);

/// <summary>Batch size and linger.</summary>
internal sealed record AgentBatchDocument(int MaxItems, int LingerMilliseconds);

/// <summary>Source-generated JSON for <see cref="AgentConfigDocument"/> (camelCase, indented).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(AgentConfigDocument))]
internal sealed partial class AgentConfigJsonContext : JsonSerializerContext;
