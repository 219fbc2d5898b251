namespace CyberCoop.Agent.Configuration;

/// <summary>agent.json is unreadable or invalid; <see cref="Errors"/> names every field at fault.</summary>
internal sealed class AgentConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentConfigException(string path, IReadOnlyList<string> errors)
        : base($"{path}: {errors.Count} problem(s):{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception.</summary>
    public AgentConfigException()
        : this("agent.json", ["unknown problem"])
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentConfigException(string message)
        : this("agent.json", [message])
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    /// <summary>Each problem, starting with the field's JSON path.</summary>
    public IReadOnlyList<string> Errors { get; } = [];
}
