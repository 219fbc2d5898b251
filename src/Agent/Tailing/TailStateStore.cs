using System.Text.Json;
using System.Text.Json.Serialization;

namespace CyberCoop.Agent.Tailing;

/// <summary>
/// The small JSON file remembering read offsets. Saved atomically (temporary file, fsync, rename,
/// fsync of the folder) so a crash leaves either the old or the new state, never a torn one.
/// Written only after the sightings up to each offset are durably in the spool.
/// </summary>
internal sealed class TailStateStore
{
    private readonly string _path;
    private readonly Dictionary<string, FileCheckpoint> _entries = new(StringComparer.Ordinal);

    private TailStateStore(string path) => _path = path;

    /// <summary>Current checkpoints by key.</summary>
    public IReadOnlyDictionary<string, FileCheckpoint> Entries => _entries;

    /// <summary>Loads the state file (empty when it does not exist); throws <see cref="InvalidDataException"/> when unreadable.</summary>
    public static TailStateStore Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var store = new TailStateStore(path);
        if (!File.Exists(path))
        {
            return store;
        }

        try
        {
            var doc = JsonSerializer.Deserialize(File.ReadAllBytes(path), TailStateJsonContext.Default.TailStateDocument);
            foreach (var entry in doc?.Files ?? [])
            {
                store._entries[entry.Key] = entry;
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"state file '{path}' is not valid ({ex.Message}); move it away to re-read all sources from the start", ex);
        }

        return store;
    }

    /// <summary>Applies checkpoints (newer offsets replace older; finished files are dropped).</summary>
    public void Apply(IEnumerable<FileCheckpoint> checkpoints)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        foreach (var c in checkpoints)
        {
            if (c.Finished)
            {
                _entries.Remove(c.Key);
            }
            else
            {
                _entries[c.Key] = c;
            }
        }
    }

    /// <summary>Writes the state atomically.</summary>
    public void Save()
    {
        var dir = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(dir);
        var temp = _path + ".tmp";
        var doc = new TailStateDocument { Version = 1, Files = [.. _entries.Values.OrderBy(e => e.Key, StringComparer.Ordinal)] };
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            JsonSerializer.Serialize(stream, doc, TailStateJsonContext.Default.TailStateDocument);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
        NativeFile.SyncDirectory(dir);
    }
}

/// <summary>On-disk form of the state file.</summary>
internal sealed record TailStateDocument
{
    /// <summary>Format version.</summary>
    public int Version { get; init; }

    /// <summary>One entry per file being read.</summary>
    public IReadOnlyList<FileCheckpoint> Files { get; init; } = [];
}

/// <summary>JSON metadata for the state file and spool checkpoints.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(TailStateDocument))]
[JsonSerializable(typeof(List<FileCheckpoint>))]
internal sealed partial class TailStateJsonContext : JsonSerializerContext;
