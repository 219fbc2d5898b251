using System.Text.Json.Serialization;

namespace CyberCoop.Gateway.Storage;

/// <summary>Source-generated JSON for small values the store writes into audit details.</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
