using System.Text.Json;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Interop.Stix;

/// <summary>
/// Streams a STIX 2.1 bundle: the indicator objects as they are added, then the identities of their origins and the
/// TLP 2.0 marking definitions they reference, then the bundle id (derived from every object id, so a re-export of
/// the same content is the same bundle).
/// </summary>
internal sealed class StixBundleWriter : IAsyncDisposable
{
    private readonly Utf8JsonWriter _writer;
    private readonly SortedSet<string> _origins = new(StringComparer.Ordinal);
    private readonly SortedSet<Tlp> _markings = [];
    private readonly List<string> _ids = [];

    public StixBundleWriter(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        _writer.WriteStartObject();
        _writer.WriteString("type", "bundle");
        _writer.WriteStartArray("objects");
    }

    /// <summary>Number of objects written so far (indicators, vulnerabilities; identities and markings come at the end).</summary>
    public int Count => _ids.Count;

    /// <summary>
    /// Writes one origin's object of a stored indicator (<see cref="ExportLifecycle.Views"/>: only that origin's
    /// content, revoked when that origin withdrew it).
    /// </summary>
    public async Task AddAsync(ExportedView view, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(view);
        Write(view.ToStix());
        _origins.Add(view.Origin);
        _markings.Add(view.View.Tlp);
        if (_writer.BytesPending > 64 * 1024)
        {
            await _writer.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes the sighting of what an allied nation reported back about this node's object
    /// <paramref name="sightingOfRef"/> (<see cref="StixExporter.Sighting"/>), marked <paramref name="tlp"/>.
    /// </summary>
    public void AddSighting(Storage.SightingsBack back, string sightingOfRef, Tlp tlp)
    {
        var sighting = StixExporter.Sighting(back, sightingOfRef, tlp);
        Write(sighting);
        _origins.Add(sighting.Origin!);
        _markings.Add(tlp);
    }

    /// <summary>Writes identities, markings and the bundle id, and flushes.</summary>
    public async Task FinishAsync(CancellationToken ct)
    {
        foreach (var origin in _origins)
        {
            Write(StixExporter.Identity(origin));
        }

        foreach (var tlp in _markings)
        {
            Write(StixExporter.Marking(tlp));
        }

        _writer.WriteEndArray();
        _writer.WriteString("id", StixIds.Bundle(_ids));
        _writer.WriteEndObject();
        await _writer.FlushAsync(ct).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    private void Write(StixObject stix)
    {
        stix.Json.WriteTo(_writer);
        _ids.Add(stix.Id);
    }
}
