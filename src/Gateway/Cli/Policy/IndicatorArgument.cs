using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Cli.Policy;

/// <summary>
/// Reads the <c>--indicator</c> JSON of <c>policy test</c> into a <see cref="Sighting"/>, strictly:
/// unknown fields and wrong types are usage errors naming the field.
/// </summary>
internal static class IndicatorArgument
{
    /// <summary>Fields accepted, in the order the help lists them.</summary>
    public static IReadOnlyList<string> Fields { get; } =
        ["type", "value", "tlp", "confidence", "tags", "sectors", "sensor", "context", "description", "validUntil"];

    /// <summary>Largest indicator JSON accepted.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>Reads the indicator JSON from <paramref name="path"/>.</summary>
    public static Sighting ParseFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new CliException($"--indicator-file '{full}' does not exist");
        }

        if (new FileInfo(full).Length > MaxBytes)
        {
            throw CliException.Usage($"--indicator-file '{full}' is larger than {MaxBytes} bytes");
        }

        return Parse(File.ReadAllText(full));
    }

    /// <summary>Parses the indicator JSON.</summary>
    public static Sighting Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxBytes)
        {
            throw CliException.Usage($"--indicator is larger than {MaxBytes} bytes");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw CliException.Usage($"--indicator is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw CliException.Usage("--indicator must be a JSON object, e.g. {\"type\":\"domain\",\"value\":\"evil.example\",\"tlp\":\"AMBER\",\"confidence\":80}");
            }

            var sighting = new Sighting { Tlp = Tlp.Amber, Confidence = 50 };
            var sawType = false;
            var sawValue = false;
            foreach (var property in root.EnumerateObject())
            {
                var value = property.Value;
                switch (property.Name)
                {
                    case "type":
                        var typeText = String(property);
                        if (!IndicatorTypeNames.TryParse(typeText, out var type))
                        {
                            throw CliException.Usage($"--indicator type: '{typeText}' is not an indicator type " +
                                $"({string.Join(", ", System.Enum.GetValues<IndicatorType>().Where(IndicatorTypeNames.IsKnown).Select(IndicatorTypeNames.ToName))})");
                        }

                        sighting.Type = type;
                        sawType = true;
                        break;
                    case "value":
                        sighting.Value = String(property);
                        sawValue = true;
                        break;
                    case "tlp":
                        var tlpText = String(property);
                        if (!TlpNames.TryParse(tlpText, out var tlp))
                        {
                            throw CliException.Usage($"--indicator tlp: '{tlpText}' must be one of {string.Join(", ", TlpNames.All)}");
                        }

                        sighting.Tlp = tlp;
                        break;
                    case "confidence":
                        if (value.ValueKind != JsonValueKind.Number || !value.TryGetUInt32(out var confidence) || confidence > 100)
                        {
                            throw CliException.Usage("--indicator confidence: must be a whole number 0-100");
                        }

                        sighting.Confidence = confidence;
                        break;
                    case "tags":
                        sighting.Tags.AddRange(Strings(property));
                        break;
                    case "sectors":
                        sighting.Sectors.AddRange(Strings(property));
                        break;
                    case "sensor":
                        sighting.Sensor = String(property);
                        break;
                    case "description":
                        sighting.Description = String(property);
                        break;
                    case "context":
                        if (value.ValueKind != JsonValueKind.Object)
                        {
                            throw CliException.Usage("--indicator context: must be an object of strings");
                        }

                        foreach (var entry in value.EnumerateObject())
                        {
                            sighting.Context[entry.Name] = entry.Value.ValueKind == JsonValueKind.String
                                ? entry.Value.GetString()!
                                : throw CliException.Usage($"--indicator context.{entry.Name}: must be a string");
                        }

                        break;
                    case "validUntil":
                        if (value.ValueKind != JsonValueKind.String || !value.TryGetDateTimeOffset(out var until))
                        {
                            throw CliException.Usage("--indicator validUntil: must be an RFC 3339 time, e.g. 2026-12-31T00:00:00Z");
                        }

                        sighting.ValidUntil = Timestamp.FromDateTimeOffset(until);
                        break;
                    default:
                        throw CliException.Usage($"--indicator: unknown field '{property.Name}' (known: {string.Join(", ", Fields)})");
                }
            }

            if (!sawType || !sawValue)
            {
                throw CliException.Usage("--indicator needs at least \"type\" and \"value\"");
            }

            return sighting;
        }
    }

    private static string String(JsonProperty property) =>
        property.Value.ValueKind == JsonValueKind.String
            ? property.Value.GetString()!
            : throw CliException.Usage($"--indicator {property.Name}: must be a string");

    private static IEnumerable<string> Strings(JsonProperty property)
    {
        if (property.Value.ValueKind != JsonValueKind.Array)
        {
            throw CliException.Usage($"--indicator {property.Name}: must be an array of strings");
        }

        return property.Value.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw CliException.Usage($"--indicator {property.Name}: must be an array of strings"))
            .ToList();
    }
}
