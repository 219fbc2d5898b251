using System.Text.Json.Serialization;

namespace CyberCoop.Gateway.Storage;

/// <summary>Source-generated JSON for audit details written by the storage layer.</summary>
[JsonSerializable(typeof(CheckpointDetails))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;
