using System.Text.Json;
using Json.Schema;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>The vendored STIX 2.1 JSON schemas (Interop/StixSchemas, see SOURCES.md there), evaluated with JsonSchema.Net.</summary>
internal sealed class StixSchemaSet
{
    private const string Base = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

    // Dependencies first: a schema's $refs must be registered before it is built.
    private static readonly string[] s_files =
    [
        "common/identifier.json", "common/timestamp.json", "common/external-reference.json", "common/kill-chain-phase.json",
        "common/granular-marking.json", "common/core.json", "common/marking-definition.json", "common/bundle.json",
        "sdos/indicator.json", "sdos/identity.json", "sdos/vulnerability.json", "sros/sighting.json",
    ];

    private readonly Dictionary<string, JsonSchema> _byType = new(StringComparer.Ordinal);
    private readonly JsonSchema _bundle;

    public StixSchemaSet()
    {
        var registry = new SchemaRegistry();
        var build = new BuildOptions { SchemaRegistry = registry };
        var folder = Path.Combine(AppContext.BaseDirectory, "Interop", "StixSchemas");
        foreach (var file in s_files)
        {
            var schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(folder, file)), build, new Uri(Base + file));
            registry.Register(schema);
            var type = Path.GetFileNameWithoutExtension(file);
            _byType[type] = schema;
        }

        _bundle = _byType["bundle"];
    }

    /// <summary>Every error of a bundle: its own shape, then each object against the schema of its type (unknown types are errors).</summary>
    public IReadOnlyList<string> ValidateBundle(JsonElement bundle)
    {
        var errors = Errors("bundle", _bundle.Evaluate(bundle, Options)).ToList();
        if (bundle.TryGetProperty("objects", out var objects) && objects.ValueKind == JsonValueKind.Array)
        {
            foreach (var stixObject in objects.EnumerateArray())
            {
                errors.AddRange(ValidateObject(stixObject));
            }
        }

        return errors;
    }

    /// <summary>Every error of one object against the schema of its type.</summary>
    public IReadOnlyList<string> ValidateObject(JsonElement stixObject)
    {
        var type = stixObject.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        var id = stixObject.TryGetProperty("id", out var i) ? i.GetString() ?? "?" : "?";
        if (!_byType.TryGetValue(type, out var schema) || type is "core" or "bundle")
        {
            return [$"{id}: no vendored schema for type '{type}'"];
        }

        return [.. Errors(id, schema.Evaluate(stixObject, Options))];
    }

    private static EvaluationOptions Options => new() { OutputFormat = OutputFormat.List };

    private static IEnumerable<string> Errors(string subject, EvaluationResults results)
    {
        if (results.IsValid)
        {
            yield break;
        }

        var any = false;
        foreach (var detail in results.Details ?? [])
        {
            foreach (var (keyword, message) in detail.Errors ?? new Dictionary<string, string>())
            {
                any = true;
                yield return $"{subject} {detail.InstanceLocation} ({detail.EvaluationPath}) {keyword}: {message}";
            }
        }

        if (!any)
        {
            yield return $"{subject}: invalid";
        }
    }
}
