namespace CyberCoop.Gateway.WebConsole;

/// <summary>A request the console refuses: the HTTP status and the sentence shown to the caller.</summary>
internal sealed class ConsoleRefusal(int status, string message) : Exception(message)
{
    /// <summary>401, 403, 400 or 404.</summary>
    public int Status { get; } = status;

    public ConsoleRefusal()
        : this(400, "refused")
    {
    }

    public ConsoleRefusal(string message)
        : this(400, message)
    {
    }

}
