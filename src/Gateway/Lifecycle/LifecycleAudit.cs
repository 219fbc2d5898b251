using System.Text.Json;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>Audit details of lifecycle entries: a flat JSON object of string fields.</summary>
internal static class LifecycleAudit
{
    /// <summary>The fields as one JSON object, in the given order.</summary>
    public static string Details(params (string Name, string Value)[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in fields)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
