using System.Threading.Channels;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Agent.Tests.Tailing;

/// <summary>Drives a <see cref="SourceTailer"/> poll by poll and collects what it emits.</summary>
internal sealed class TailHarness : IDisposable
{
    private readonly Channel<ReadChunk> _channel = Channel.CreateUnbounded<ReadChunk>();

    public TailHarness(string path, SourceFormat format = SourceFormat.Jsonl, IReadOnlyDictionary<string, FileCheckpoint>? known = null, int maxLineBytes = 4096, bool startAtEnd = false, string sourceName = "test", TimeSpan? rotationGrace = null)
    {
        var source = new SourceSettings
        {
            Name = sourceName,
            Path = path,
            Format = format,
            Mapping = format == SourceFormat.Jsonl ? new FieldMapping { ValueField = "v" } : null,
            Profile = new SourceProfile { Sensor = "test" },
            StartAtEnd = startAtEnd,
        };
        Tailer = new SourceTailer(source, SightingFilter.Default, maxLineBytes, known ?? new Dictionary<string, FileCheckpoint>(), _channel.Writer, NullLogger.Instance, Time, rotationGrace ?? TimeSpan.FromSeconds(30));
    }

    public SourceTailer Tailer { get; }

    /// <summary>The tailer's clock: the rotation grace passes only when a test advances it.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public List<string> Values { get; } = [];

    public Dictionary<string, FileCheckpoint> Checkpoints { get; } = new(StringComparer.Ordinal);

    public List<FileCheckpoint> Finished { get; } = [];

    /// <summary>Polls <paramref name="times"/> times and collects the output.</summary>
    public async Task PollAsync(int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            await Tailer.PollOnceAsync(CancellationToken.None);
        }

        while (_channel.Reader.TryRead(out var chunk))
        {
            Values.AddRange(chunk.Sightings.Select(s => s.Value));
            if (chunk.Checkpoint.Finished)
            {
                Finished.Add(chunk.Checkpoint);
                Checkpoints.Remove(chunk.Checkpoint.Key);
            }
            else
            {
                Checkpoints[chunk.Checkpoint.Key] = chunk.Checkpoint;
            }
        }
    }

    public static string Line(int n) => $"{{\"v\":\"198.51.{n / 250}.{(n % 250) + 1}\"}}\n";

    public static string Value(int n) => $"198.51.{n / 250}.{(n % 250) + 1}";

    public static IEnumerable<string> Range(int from, int to) => Enumerable.Range(from, to - from + 1).Select(Value);

    public static void Append(string path, string text)
    {
        using var s = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        s.Write(bytes);
    }

    public static string Lines(int from, int to) => string.Concat(Enumerable.Range(from, to - from + 1).Select(Line));

    public void Dispose() => Tailer.Dispose();

}
