using System.Buffers;
using System.Text;
using System.Text.Json;

namespace CyberCoop.Gateway.Federation;

/// <summary>The <c>details_json</c> of audit entries that cover a set of indicators.</summary>
internal static class AuditDetails
{
    /// <summary><c>{"indicators":["id",...]}</c>, properly escaped.</summary>
    public static string Indicators(IEnumerable<string> ids)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("indicators");
            foreach (var id in ids)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
