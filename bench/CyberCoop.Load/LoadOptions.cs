namespace CyberCoop.Load;

/// <summary>Sizes of one load run. <see cref="Quick"/> is about a minute on a 2-core machine; <see cref="Full"/> several.</summary>
internal sealed record LoadOptions
{
    /// <summary>Indicators pushed as fast as the driver can for the sustained-throughput figure.</summary>
    public int ThroughputIndicators { get; init; } = 300_000;

    /// <summary>
    /// Indicators pushed through before anything is measured: the gateways are fresh processes, and until tiered
    /// compilation has settled a large share of their CPU goes to the JIT (measured with perf: 17% of A's and 36% of
    /// B's CPU samples in libclrjit during a throughput phase that followed a 2,000-indicator warm-up).
    /// </summary>
    public int WarmupIndicators { get; init; } = 50_000;

    /// <summary>Offered rate of the latency phase, indicators per second.</summary>
    public int OfferedRate { get; init; } = 2_000;

    /// <summary>Length of the latency phase.</summary>
    public TimeSpan LatencyDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Interval at which a batch is sent during the latency phase: 20 batches/s, as from 20 agents with the agent's
    /// default 1 s linger, staggered. Latency is counted from each batch's send, so the agents' own linger is excluded.
    /// </summary>
    public TimeSpan AgentTick { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Indicators already stored at both gateways for the second pass (0 skips that pass).</summary>
    public int Prestored { get; init; } = 1_000_000;

    /// <summary>Rows (and bundled indicators) moved by each baseline.</summary>
    public int BaselineIndicators { get; init; } = 200_000;

    /// <summary>Sightings per Ingest batch in the throughput phase (the agent's default batch size).</summary>
    public int IngestBatch { get; init; } = 1_000;

    /// <summary>Concurrent agent streams in the throughput phase.</summary>
    public int AgentStreams { get; init; } = 2;

    /// <summary>Indicators per bundle (the gateway's node.bundle.maxIndicators, and the baselines' batch size).</summary>
    public int BundleSize { get; init; } = 1_000;

    /// <summary>How long to wait for B to hold everything before failing the phase.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Folder holding the <c>CyberCoop.Gateway.dll</c> to run (e.g. a ReadyToRun publish) or, for a Native AOT publish,
    /// the native executable; null runs the one beside the load tool (the Release build of this tree).
    /// </summary>
    public string? GatewayDirectory { get; init; }

    /// <summary>
    /// The gateway program in <paramref name="directory"/>: its <c>CyberCoop.Gateway.dll</c> (run with <c>dotnet</c>) or,
    /// when there is none, a Native AOT publish's native executable (<c>cybercoop-gateway</c>, or <c>CyberCoop.Gateway</c>
    /// when published without the rename); null when the folder holds none of them.
    /// </summary>
    public static string? GatewayProgram(string directory) =>
        new[] { "CyberCoop.Gateway.dll", "cybercoop-gateway", "CyberCoop.Gateway" }
            .Select(name => Path.GetFullPath(Path.Combine(directory, name)))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// CPUs each gateway process is pinned to (taskset), or null for no pinning. With 1 on a 2-core machine A runs on
    /// CPU 0 and B on CPU 1; with n, A gets CPUs 0..n-1 and B the last n CPUs of the machine (so they share when n
    /// exceeds half the machine). The driver is never pinned.
    /// </summary>
    public int? CoresPerGateway { get; init; }

    /// <summary>
    /// Also run the PostgreSQL passes in the same run (<c>--postgres</c>): a throwaway durable cluster of the local
    /// installation, the raw PostgreSQL baselines, and the empty-store pass with both nations on PostgreSQL with one
    /// gateway process per nation and with two processes of A.
    /// </summary>
    public bool Postgres { get; init; }

    /// <summary>Label printed in the report.</summary>
    public string Mode { get; init; } = "full";

    /// <summary>The full run.</summary>
    public static LoadOptions Full { get; } = new();

    /// <summary>The one-minute run.</summary>
    public static LoadOptions Quick { get; } = new()
    {
        ThroughputIndicators = 60_000,
        WarmupIndicators = 20_000,
        LatencyDuration = TimeSpan.FromSeconds(8),
        Prestored = 100_000,
        BaselineIndicators = 50_000,
        Mode = "quick",
    };

    /// <summary>A few seconds: the CI smoke run (numbers are checked for sanity only).</summary>
    public static LoadOptions Smoke { get; } = new()
    {
        ThroughputIndicators = 2_000,
        WarmupIndicators = 1_000,
        OfferedRate = 500,
        LatencyDuration = TimeSpan.FromSeconds(2),
        Prestored = 2_000,
        BaselineIndicators = 2_000,
        IngestBatch = 500,
        DrainTimeout = TimeSpan.FromSeconds(60),
        Mode = "smoke",
    };
}
