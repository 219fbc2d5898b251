using System.Text.Json;

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

            config = JsonSerializer.Deserialize(File.ReadAllBytes(full), AgentConfigJsonContext.Default.AgentConfig);
        }
        catch (JsonException ex)
        {
            var where = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
            throw new AgentConfigException(full, [$"{where}: {FirstSentence(ex.Message)}"]);
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
            throw new AgentConfigException(full, ["$: the file holds null"]);
        }

        var errors = AgentConfigValidator.Validate(config, Path.GetDirectoryName(full)!, out var settings);
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
