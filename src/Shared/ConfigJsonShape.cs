using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace CyberCoop.Configuration;

/// <summary>
/// Checks a config document against the shape its source-generated metadata describes before it is deserialized,
/// so that every type error and unknown field is reported at once, each naming its field (System.Text.Json stops at
/// the first). Offending values are removed from the document, so the rest can still be deserialized and validated
/// and the operator gets type and validation errors together. Linked into the gateway and the agent.
/// <para>
/// It also gives init-only properties their declared defaults: the source generator builds a type with init-only
/// properties in one object initializer that assigns every property, so a field missing from the file (or removed as
/// mistyped) would get <c>default(T)</c> (null, 0) instead of the default its declaration gives. A caller that passes
/// <c>defaults</c> has every missing field written into the document from the serialized default instance of its section
/// before the document is deserialized, at every depth (list elements included).
/// </para>
/// </summary>
internal static class ConfigJsonShape
{
    /// <summary>
    /// Parses <paramref name="utf8Json"/>, removes every value whose JSON kind does not fit its property (and every
    /// unknown property), adding one error per problem as <c>path: reason</c>, and returns the cleaned document's bytes.
    /// Throws <see cref="JsonException"/> for a syntax error (nothing after it can be read) and for bytes that are not
    /// UTF-8 text. <paramref name="defaults"/>, when given, returns for an object type the JSON of its default instance
    /// (every property with its declared default), and every property missing from an object of that type is copied
    /// from it.
    /// </summary>
    public static byte[] RemoveMistypedValues(
        ReadOnlySpan<byte> utf8Json, JsonTypeInfo rootType, List<string> errors, Func<Type, JsonObject>? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(rootType);
        ArgumentNullException.ThrowIfNull(errors);
        if (Utf8Text.FirstInvalidByte(utf8Json) is { } invalid)
        {
            // Found by fuzzing: System.Text.Json reads such a string only when it is used, and then throws InvalidOperationException.
            throw new JsonException($"the file is not UTF-8 text (first invalid byte at offset {invalid})");
        }

        var options = rootType.Options;
        var document = JsonNode.Parse(
            utf8Json,
            new JsonNodeOptions { PropertyNameCaseInsensitive = options.PropertyNameCaseInsensitive },
            new JsonDocumentOptions
            {
                AllowTrailingCommas = options.AllowTrailingCommas,
                CommentHandling = options.ReadCommentHandling,
                // A key given twice is a JsonException naming it (found by fuzzing: JsonObject threw ArgumentException).
                AllowDuplicateProperties = false,
            });
        if (options.PropertyNameCaseInsensitive)
        {
            RefuseNamesGivenTwiceInAnyCase(utf8Json, options);
        }

        if (document is not null && !Fits(document, rootType, "", errors, defaults))
        {
            document = null;
        }

        if (document is null)
        {
            return "null"u8.ToArray();
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            document.WriteTo(writer);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// True when an error in <paramref name="validationError"/> is about a field (or a part of one) already reported as
    /// mistyped, i.e. the validator only complains because the value was removed.
    /// </summary>
    public static bool IsAbout(string validationError, IEnumerable<string> mistypedPaths)
    {
        ArgumentNullException.ThrowIfNull(validationError);
        ArgumentNullException.ThrowIfNull(mistypedPaths);
        foreach (var path in mistypedPaths)
        {
            if (validationError.StartsWith(path, StringComparison.OrdinalIgnoreCase)
                && validationError.Length > path.Length && validationError[path.Length] is ':' or '.' or '[')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The field path an error from <see cref="RemoveMistypedValues"/> names (the part before ": ").</summary>
    public static string PathOf(string error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var colon = error.IndexOf(": ", StringComparison.Ordinal);
        return colon < 0 ? error : error[..colon];
    }

    /// <summary>
    /// Throws <see cref="JsonException"/> naming a field given twice in one object in different case (<c>"spool"</c>
    /// and <c>"Spool"</c>): the parser's own check compares names exactly, but for case-insensitive names both are one
    /// field, and JsonObject threw ArgumentException for them (found by fuzzing). Called on a document already parsed.
    /// </summary>
    private static void RefuseNamesGivenTwiceInAnyCase(ReadOnlySpan<byte> utf8Json, JsonSerializerOptions options)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions
        {
            AllowTrailingCommas = options.AllowTrailingCommas,
            CommentHandling = options.ReadCommentHandling == JsonCommentHandling.Allow ? JsonCommentHandling.Skip : options.ReadCommentHandling,
        });
        // One entry per open object or list: the names seen (null for a list), its path, and the next list index.
        var open = new Stack<(HashSet<string>? Names, string Path, int Index)>();
        var pending = "";
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    var name = reader.GetString()!;
                    var (names, path, _) = open.Peek();
                    if (!names!.Add(name))
                    {
                        names.TryGetValue(name, out var first);
                        throw new JsonException(
                            $"the field is given twice, as \"{first}\" and as \"{name}\" (field names are not case-sensitive)",
                            Child(path, name),
                            lineNumber: null,
                            bytePositionInLine: null);
                    }

                    pending = Child(path, name);
                    continue;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    var at = ElementPath(open, pending);
                    open.Push((reader.TokenType == JsonTokenType.StartObject ? new HashSet<string>(StringComparer.OrdinalIgnoreCase) : null, at, 0));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    open.Pop();
                    break;
                default:
                    ElementPath(open, pending);
                    break;
            }

            pending = "";
        }

        static string Child(string path, string name) => path.Length == 0 ? name : path + "." + name;

        // The path of the value starting now: the pending property's, or the next index of the enclosing list.
        static string ElementPath(Stack<(HashSet<string>? Names, string Path, int Index)> open, string pending)
        {
            if (open.Count == 0 || open.Peek().Names is not null)
            {
                return pending;
            }

            var (names, path, index) = open.Pop();
            open.Push((names, path, index + 1));
            return path + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
        }
    }

    private static bool Fits(JsonNode? node, JsonTypeInfo type, string path, List<string> errors, Func<Type, JsonObject>? defaults)
    {
        var underlying = Nullable.GetUnderlyingType(type.Type);
        if (node is null)
        {
            if (underlying is not null || !type.Type.IsValueType)
            {
                return true;
            }

            errors.Add($"{Name(path)}: expected {Describe(type.Type)}, found null");
            return false;
        }

        if (underlying is not null)
        {
            return Fits(node, type.Options.GetTypeInfo(underlying), path, errors, defaults);
        }

        switch (type.Kind)
        {
            case JsonTypeInfoKind.Object:
                if (node is not JsonObject obj)
                {
                    errors.Add($"{Name(path)}: expected an object {{ ... }}, found {Found(node)}");
                    return false;
                }

                FitsObject(obj, type, path, errors, defaults);
                return true;

            case JsonTypeInfoKind.Enumerable when type.ElementType is { } elementType:
                if (node is not JsonArray array)
                {
                    errors.Add($"{Name(path)}: expected a list [ ... ], found {Found(node)}");
                    return false;
                }

                var elementInfo = type.Options.GetTypeInfo(elementType);
                var ok = true;
                for (var i = 0; i < array.Count; i++)
                {
                    ok &= Fits(array[i], elementInfo, path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", errors, defaults);
                }

                return ok; // a list with a mistyped element is removed whole (its other elements were still checked)

            default:
                return FitsValue(node, type.Type, path, errors);
        }
    }

    private static void FitsObject(JsonObject obj, JsonTypeInfo type, string path, List<string> errors, Func<Type, JsonObject>? defaults)
    {
        var comparison = type.Options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        List<string>? remove = null;
        foreach (var (name, value) in obj)
        {
            var property = type.Properties.FirstOrDefault(p => string.Equals(p.Name, name, comparison));
            var propertyPath = path.Length == 0 ? name : path + "." + name;
            if (property is null)
            {
                errors.Add($"{propertyPath}: unknown field (known here: {string.Join(", ", type.Properties.Select(p => p.Name))})");
                (remove ??= []).Add(name);
            }
            else if (!Fits(value, type.Options.GetTypeInfo(property.PropertyType), propertyPath, errors, defaults))
            {
                (remove ??= []).Add(name);
            }
        }

        foreach (var name in remove ?? [])
        {
            obj.Remove(name);
        }

        if (defaults is null)
        {
            return;
        }

        // The node was parsed with the serializer's case sensitivity, so ContainsKey matches the way the deserializer will.
        foreach (var (name, value) in defaults(type.Type))
        {
            if (!obj.ContainsKey(name))
            {
                obj[name] = value?.DeepClone();
            }
        }
    }

    private static bool FitsValue(JsonNode node, Type type, string path, List<string> errors)
    {
        var kind = node.GetValueKind();
        var fits = type == typeof(string) ? kind == JsonValueKind.String
            : type == typeof(bool) ? kind is JsonValueKind.True or JsonValueKind.False
            : type == typeof(int) ? kind == JsonValueKind.Number && node.AsValue().TryGetValue<int>(out _)
            : type == typeof(long) ? kind == JsonValueKind.Number && node.AsValue().TryGetValue<long>(out _)
            : type == typeof(uint) ? kind == JsonValueKind.Number && node.AsValue().TryGetValue<uint>(out _)
            : type == typeof(double) ? kind == JsonValueKind.Number && node.AsValue().TryGetValue<double>(out _)
            : true; // other types are left to the deserializer
        if (!fits)
        {
            errors.Add($"{Name(path)}: expected {Describe(type)}, found {Found(node)}");
        }

        return fits;
    }

    private static string Name(string path) => path.Length == 0 ? "$" : path;

    private static string Describe(Type type) =>
        type == typeof(string) ? "a string in quotes"
        : type == typeof(bool) ? "true or false"
        : type == typeof(int) ? $"a whole number from {int.MinValue} to {int.MaxValue}"
        : type == typeof(long) ? $"a whole number from {long.MinValue} to {long.MaxValue}"
        : type == typeof(uint) ? $"a whole number from 0 to {uint.MaxValue}"
        : type == typeof(double) ? "a number"
        : "a value of type " + type.Name;

    private static string Found(JsonNode node)
    {
        var text = node.ToJsonString();
        if (text.Length > 40)
        {
            text = text[..37] + "...";
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.String => "the string " + text,
            JsonValueKind.Number => "the number " + text,
            JsonValueKind.True or JsonValueKind.False => text,
            JsonValueKind.Array => "a list " + text,
            JsonValueKind.Object => "an object " + text,
            _ => text,
        };
    }
}
