using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace CyberCoop.Gateway.Interop;

/// <summary>Source-generated serialization of the JSON trees the interop formats write.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class InteropJsonContext : JsonSerializerContext;
