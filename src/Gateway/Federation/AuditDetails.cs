using System.Buffers;
using System.Text;
using System.Text.Json;

namespace CyberCoop.Gateway.Federation;

/// <summary>The <c>details_json</c> of audit entries that cover a set of indicators.</summary>
internal static class AuditDetails
{
    /// <summary><c>{"indicators":["id",...]}</c>, properly escaped.</summary>
    public static string Indicators(IEnumerable<string> ids) => Indicators(ids, null, null);

    /// <summary>
    /// <c>{"indicators":[...],"recipientKeyId":"hex","signerKeyId":"hex"}</c>: a received bundle with the content keys
    /// it was sealed to and signed with (which key of a rotation was used is provable afterwards).
    /// </summary>
    public static string Indicators(IEnumerable<string> ids, string? recipientKeyId, string? signerKeyId)
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
            if (recipientKeyId is not null)
            {
                writer.WriteString("recipientKeyId", recipientKeyId);
            }

            if (signerKeyId is not null)
            {
                writer.WriteString("signerKeyId", signerKeyId);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
