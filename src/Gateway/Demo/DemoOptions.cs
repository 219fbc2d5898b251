namespace CyberCoop.Gateway.Demo;

/// <summary>How the demo runs.</summary>
internal sealed record DemoOptions
{
    /// <summary>Default length of the replay and drain (start-up, the attacks, the interop and lifecycle steps and the summary come on top).</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(12);

    /// <summary>Shortest accepted duration.</summary>
    public static readonly TimeSpan MinDuration = TimeSpan.FromSeconds(3);

    /// <summary>Longest accepted duration.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(10);

    /// <summary>How long the agents replay and the federation drains.</summary>
    public TimeSpan Duration { get; init; } = DefaultDuration;

    /// <summary>Folder to build the federation in; null makes a fresh temporary folder.</summary>
    public string? Directory { get; init; }

    /// <summary>Leave the federation's files (certificates, configs, databases, audit logs) on disk.</summary>
    public bool Keep { get; init; }

    /// <summary>
    /// When set, every gateway also serves its operator console (with development operator certificates), and this is
    /// called once the demo has run, with the nations still running; they stop when it returns.
    /// </summary>
    public Func<DemoFederation, CancellationToken, Task>? WhileConsolesRun { get; init; }
}
