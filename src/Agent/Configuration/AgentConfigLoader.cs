using System.Text.Json;
using CyberCoop.Configuration;

namespace CyberCoop.Agent.Configuration;

/// <summary>Reads agent.json and validates it into <see cref="AgentSettings"/>.</summary>
internal static class AgentConfigLoader
{
    /// <summary>Largest config file read.</summary>
    private const int MaxConfigBytes = 1024 * 1024;

    /// <summary>Loads and validates; throws <see cref="AgentConfigException"/> listing every problem.</summary>
    public static AgentSettings Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        AgentConfig? config;
        var typeErrors = new List<string>();
        try
        {
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                throw new AgentConfigException(full, ["file not found"]);
            }

            if (info.Length > MaxConfigBytes)
            {
                throw new AgentConfigException(full, [$"file larger than {MaxConfigBytes} bytes"]);
            }

            // Every type error and unknown field at once (the deserializer stops at the first); the fields at fault are
            // removed so that the rest is still validated and reported together with them.
            var typeInfo = AgentConfigJsonContext.Default.AgentConfig;
            config = JsonSerializer.Deserialize(ConfigJsonShape.RemoveMistypedValues(File.ReadAllBytes(full), typeInfo, typeErrors), typeInfo);
        }
        catch (JsonException ex)
        {
            var where = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
            throw new AgentConfigException(full, [.. typeErrors, $"{where}: {FirstSentence(ex.Message)}"]);
        }
        catch (IOException ex)
        {
            throw new AgentConfigException(full, [ex.Message]);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new AgentConfigException(full, [ex.Message]);
        }

        if (config is null)
        {
            throw new AgentConfigException(full, typeErrors.Count > 0 ? typeErrors : ["$: the file holds null"]);
        }

        var mistyped = typeErrors.Select(ConfigJsonShape.PathOf).ToList();
        var errors = typeErrors
            .Concat(AgentConfigValidator.Validate(config, Path.GetDirectoryName(full)!, out var settings).Where(e => !ConfigJsonShape.IsAbout(e, mistyped)))
            .ToList();
        if (errors.Count > 0)
        {
            throw new AgentConfigException(full, errors);
        }

        return settings!;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
