using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CyberCoop.Agent.Parsing;

/// <summary>
/// Reads the top-level fields of a one-line JSON object into a name/value dictionary, keeping only
/// wanted names. Strings as they are, numbers and booleans as their JSON text, arrays of scalars
/// joined with ",", nested objects flattened with dotted names ("seen.indicator").
/// </summary>
internal static class JsonRecordReader
{
    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 32 };

    /// <summary>
    /// Fills <paramref name="into"/> (cleared first). Returns null on success or the reason the
    /// line is not a usable JSON object.
    /// </summary>
    public static string? Read(ReadOnlySpan<byte> line, FrozenSet<string> wanted, Dictionary<string, string> into)
    {
        into.Clear();
        try
        {
            var r = new Utf8JsonReader(line, s_options);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            {
                return "not a JSON object";
            }

            ReadObject(ref r, prefix: null, wanted, into);
            return null;
        }
        catch (JsonException)
        {
            return "invalid JSON (truncated or malformed)";
        }
        catch (InvalidOperationException)
        {
            return "invalid JSON value";
        }
    }

    private static void ReadObject(ref Utf8JsonReader r, string? prefix, FrozenSet<string> wanted, Dictionary<string, string> into)
    {
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var name = prefix is null ? r.GetString()! : prefix + "." + r.GetString();
            r.Read();
            switch (r.TokenType)
            {
                case JsonTokenType.StartObject:
                    if (HasWantedUnder(name, wanted))
                    {
                        ReadObject(ref r, name, wanted, into);
                    }
                    else
                    {
                        r.Skip();
                    }

                    break;
                case JsonTokenType.StartArray:
                    if (wanted.Contains(name))
                    {
                        var sb = new StringBuilder();
                        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                        {
                            if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                            {
                                r.Skip();
                                continue;
                            }

                            if (sb.Length > 0)
                            {
                                sb.Append(',');
                            }

                            sb.Append(Scalar(ref r));
                        }

                        into[name] = sb.ToString();
                    }
                    else
                    {
                        r.Skip();
                    }

                    break;
                case JsonTokenType.Null:
                    break;
                default:
                    if (wanted.Contains(name))
                    {
                        into[name] = Scalar(ref r);
                    }

                    break;
            }
        }
    }

    private static bool HasWantedUnder(string name, FrozenSet<string> wanted)
    {
        foreach (var w in wanted)
        {
            if (w.Length > name.Length && w[name.Length] == '.' && w.StartsWith(name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string Scalar(ref Utf8JsonReader r) => r.TokenType switch
    {
        JsonTokenType.String => r.GetString() ?? string.Empty,
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Number => r.TryGetInt64(out var l) ? l.ToString(CultureInfo.InvariantCulture)
            : r.GetDouble().ToString(CultureInfo.InvariantCulture),
        _ => string.Empty,
    };
}
