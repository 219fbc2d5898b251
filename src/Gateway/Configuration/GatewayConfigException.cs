namespace CyberCoop.Gateway.Configuration;

/// <summary>A config file that cannot be used; <see cref="Errors"/> lists every problem, each naming its field.</summary>
internal sealed class GatewayConfigException : Exception
{
    public GatewayConfigException(string path, IReadOnlyList<string> errors)
        : base($"invalid config '{path}':{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", errors))
    {
        Path = path;
        Errors = errors;
    }

    public GatewayConfigException()
        : this("", [])
    {
    }

    public GatewayConfigException(string message)
        : base(message)
    {
        Path = "";
        Errors = [message];
    }

    public GatewayConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = "";
        Errors = [message];
    }

    /// <summary>The config file.</summary>
    public string Path { get; }

    /// <summary>Every problem found, each prefixed by the JSON path of its field.</summary>
    public IReadOnlyList<string> Errors { get; }
}
