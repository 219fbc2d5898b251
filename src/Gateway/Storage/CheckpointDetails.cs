using System.Text.Json.Serialization;

namespace CyberCoop.Gateway.Storage;

/// <summary>details_json of a checkpoint entry: the covered seq, its chain hash (hex) and the node's signature (base64).</summary>
internal sealed record CheckpointDetails(
    [property: JsonPropertyName("seq")] long Seq,
    [property: JsonPropertyName("hash")] string? Hash,
    [property: JsonPropertyName("signature")] string? Signature);
