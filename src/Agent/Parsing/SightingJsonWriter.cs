using System.Text.Json;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing;

/// <summary>Writes sightings as one compact JSON object per line (the dry-run output of <c>parse</c>).</summary>
internal static class SightingJsonWriter
{
    /// <summary>Writes one sighting followed by '\n'.</summary>
    public static void Write(Utf8JsonWriter writer, Stream output, Sighting sighting)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(sighting);
        writer.Reset(output);
        writer.WriteStartObject();
        writer.WriteString("type"u8, IndicatorTypeNames.ToName(sighting.Type));
        writer.WriteString("value"u8, sighting.Value);
        writer.WriteString("tlp"u8, IndicatorTypeNames.TlpName(sighting.Tlp));
        writer.WriteNumber("confidence"u8, sighting.Confidence);
        if (sighting.ObservedAt is not null)
        {
            writer.WriteString("observedAt"u8, TimestampParser.Format(sighting.ObservedAt.ToDateTimeOffset()));
        }

        if (sighting.ValidUntil is not null)
        {
            writer.WriteString("validUntil"u8, TimestampParser.Format(sighting.ValidUntil.ToDateTimeOffset()));
        }

        writer.WriteString("sensor"u8, sighting.Sensor);
        if (sighting.Tags.Count > 0)
        {
            writer.WriteStartArray("tags"u8);
            foreach (var t in sighting.Tags)
            {
                writer.WriteStringValue(t);
            }

            writer.WriteEndArray();
        }

        if (sighting.Sectors.Count > 0)
        {
            writer.WriteStartArray("sectors"u8);
            foreach (var s in sighting.Sectors)
            {
                writer.WriteStringValue(s);
            }

            writer.WriteEndArray();
        }

        if (!string.IsNullOrEmpty(sighting.Description))
        {
            writer.WriteString("description"u8, sighting.Description);
        }

        if (sighting.Context.Count > 0)
        {
            writer.WriteStartObject("context"u8);
            foreach (var (k, v) in sighting.Context.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                writer.WriteString(k, v);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.Flush();
        output.WriteByte((byte)'\n');
    }
}
