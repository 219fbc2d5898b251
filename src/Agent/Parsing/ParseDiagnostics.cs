namespace CyberCoop.Agent.Parsing;

/// <summary>A line that could not be used, with where it was and why.</summary>
/// <param name="File">File path.</param>
/// <param name="Line">1-based line number (0 for whole-file formats).</param>
/// <param name="Reason">What was wrong (a short, fixed text used to count).</param>
/// <param name="Detail">Optional specifics (an object id, a field).</param>
internal sealed record SkippedLine(string File, long Line, string Reason, string? Detail = null);

/// <summary>
/// Counts what parsing did with its input: lines read, sightings produced, lines skipped as
/// malformed (with file, line and reason), records ignored as irrelevant (e.g. EVE flow events)
/// and observables filtered out (home net, allowlist). Not thread-safe: one per reader.
/// </summary>
internal sealed class ParseDiagnostics
{
    private const int MaxSamples = 100;
    private readonly List<SkippedLine> _samples = [];

    /// <summary>File currently being read, recorded with each skipped line.</summary>
    public string File { get; set; } = string.Empty;

    /// <summary>Lines (or whole-file records) read.</summary>
    public long Lines { get; set; }

    /// <summary>Sightings produced.</summary>
    public long Sightings { get; set; }

    /// <summary>Malformed input by reason.</summary>
    public Dictionary<string, long> Skipped { get; } = new(StringComparer.Ordinal);

    /// <summary>Well-formed records that carry no detection, by reason.</summary>
    public Dictionary<string, long> Ignored { get; } = new(StringComparer.Ordinal);

    /// <summary>Observables not reported, by reason (home net, allowlist, ...).</summary>
    public Dictionary<string, long> Filtered { get; } = new(StringComparer.Ordinal);

    /// <summary>The first skipped lines, with file and line number.</summary>
    public IReadOnlyList<SkippedLine> SkippedSamples => _samples;

    /// <summary>Total skipped lines.</summary>
    public long SkippedCount { get; private set; }

    /// <summary>Called for every skipped line (the runner logs it).</summary>
    public Action<SkippedLine>? OnSkipped { get; set; }

    /// <summary>Records a malformed line.</summary>
    public void Skip(long line, string reason, string? detail = null)
    {
        SkippedCount++;
        Increment(Skipped, reason);
        var record = new SkippedLine(File, line, reason, detail);
        if (_samples.Count < MaxSamples)
        {
            _samples.Add(record);
        }

        OnSkipped?.Invoke(record);
    }

    /// <summary>Records a well-formed record without detections.</summary>
    public void Ignore(string reason) => Increment(Ignored, reason);

    /// <summary>Records an observable that was not reported.</summary>
    public void Filter(string reason) => Increment(Filtered, reason);

    private static void Increment(Dictionary<string, long> counts, string reason)
    {
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, reason, out _)++;
    }
}
