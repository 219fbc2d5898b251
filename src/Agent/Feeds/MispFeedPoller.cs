using System.Globalization;
using System.Net;
using System.Security.Authentication;
using System.Text.Json;
using System.Threading.Channels;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Agent.Parsing.Misp;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Tailing;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Feeds;

/// <summary>
/// A MISP feed read over HTTPS (<c>"format": "misp-feed", "url": …</c>): every poll interval it asks for
/// <c>manifest.json</c> with <c>If-None-Match</c> / <c>If-Modified-Since</c> from the last complete read (a 304 ends the
/// poll: nothing else is requested), then fetches only the events whose manifest <c>timestamp</c> differs from the one
/// already read, and from a changed event sends only the attributes changed since (deleted and <c>to_ids: false</c>
/// attributes are never sent). Progress lives in the agent's state file like file offsets: one checkpoint per event
/// (its manifest timestamp) and one for the manifest (its ETag and Last-Modified), committed only after the event's
/// sightings are in the spool, so a restarted agent re-sends nothing it already spooled. A failed request (TLS,
/// timeout, HTTP error, oversized body, malformed file) is logged and retried at the next poll; the other events are
/// read, and the manifest's validators are not kept until every event of it was read, so nothing is skipped.
/// </summary>
internal sealed class MispFeedPoller : ISourceReader
{
    private const string ManifestName = "manifest.json";

    private readonly SourceSettings _source;
    private readonly FeedSettings _feed;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ChannelWriter<ReadChunk> _output;
    private readonly ILogger _logger;
    private readonly SightingEmitter _emitter;
    private readonly Uri _manifestUrl;
    private readonly Dictionary<string, long> _events = new(StringComparer.Ordinal);
    private string? _etag;
    private string? _lastModified;
    private long _polls;
    private long _notModified;
    private long _eventsFetched;
    private long _failures;

    /// <summary>Creates the poller; <paramref name="known"/> is the saved state (its entries for this source are resumed).</summary>
    public MispFeedPoller(
        SourceSettings source,
        SightingFilter filter,
        IReadOnlyDictionary<string, FileCheckpoint> known,
        ChannelWriter<ReadChunk> output,
        ILogger logger,
        HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(known);
        _source = source;
        _feed = source.Feed ?? throw new ArgumentException("not a feed source", nameof(source));
        _ownsHttp = http is null;
        _http = http ?? FeedTrust.CreateClient(_feed);
        _output = output;
        _logger = logger;
        Diagnostics = new ParseDiagnostics();
        _emitter = new SightingEmitter(source.Profile, filter, Diagnostics);
        _manifestUrl = new Uri(_feed.BaseUrl, ManifestName);
        var prefix = _feed.BaseUrl.AbsoluteUri;
        foreach (var checkpoint in known.Values)
        {
            if (checkpoint.Source != source.Name)
            {
                continue;
            }

            if (checkpoint.Path == _manifestUrl.AbsoluteUri)
            {
                _etag = checkpoint.ETag;
                _lastModified = checkpoint.LastModified;
            }
            else if (checkpoint.Path.StartsWith(prefix, StringComparison.Ordinal) && checkpoint.Path.EndsWith(".json", StringComparison.Ordinal))
            {
                _events[checkpoint.Path[prefix.Length..^".json".Length]] = checkpoint.Offset;
            }
        }
    }

    /// <summary>Counts for this source.</summary>
    public ParseDiagnostics Diagnostics { get; }

    /// <summary>Polls started.</summary>
    public long Polls => Interlocked.Read(ref _polls);

    /// <summary>Polls answered 304 Not Modified.</summary>
    public long NotModified => Interlocked.Read(ref _notModified);

    /// <summary>Event files fetched and read.</summary>
    public long EventsFetched => Interlocked.Read(ref _eventsFetched);

    /// <summary>Requests or files that failed (each logged with its reason).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The reason of the last failure, or null.</summary>
    public string? LastFailure { get; private set; }

    /// <inheritdoc />
    public async Task RunAsync(TimeSpan pollInterval, TimeProvider time, CancellationToken cancellationToken)
    {
        AgentLog.FeedPolling(_logger, _source.Name, _feed.BaseUrl.AbsoluteUri, _feed.PollInterval.TotalSeconds);
        while (!cancellationToken.IsCancellationRequested)
        {
            await PollOnceAsync(cancellationToken).ConfigureAwait(false);
            await Task.Delay(_feed.PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One poll: the manifest, then every new or changed event. Failures are logged and counted, never thrown.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _polls);
        var manifest = await FetchAsync(_manifestUrl, conditional: true, cancellationToken).ConfigureAwait(false);
        if (manifest is null)
        {
            return;
        }

        if (manifest.NotModified)
        {
            Interlocked.Increment(ref _notModified);
            AgentLog.FeedNotModified(_logger, _source.Name, _manifestUrl.AbsoluteUri);
            return;
        }

        Diagnostics.File = _manifestUrl.AbsoluteUri;
        if (ReadManifest(manifest.Body) is not { } entries)
        {
            return;
        }

        var changed = 0;
        var failed = 0;
        foreach (var (uuid, timestamp) in entries.OrderBy(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal))
        {
            var seen = _events.TryGetValue(uuid, out var previous);
            if (seen && previous == timestamp)
            {
                continue;
            }

            changed++;
            var url = new Uri(_feed.BaseUrl, uuid + ".json");
            var body = await FetchAsync(url, conditional: false, cancellationToken).ConfigureAwait(false);
            Diagnostics.File = url.AbsoluteUri;
            if (body is null)
            {
                failed++;
                continue;
            }

            Diagnostics.Lines++;
            var skippedBefore = Diagnostics.SkippedCount;
            if (!MispFeedParser.Parse(body.Body, _emitter, seen && timestamp > previous ? previous : 0, uuid))
            {
                Fail(url, Diagnostics.SkippedCount > skippedBefore && Diagnostics.SkippedSamples.Count > 0
                    ? "not a MISP event file: " + Diagnostics.SkippedSamples[^1].Reason
                    : "not a MISP event file");
                _emitter.Output = [];
                failed++;
                continue;
            }

            Interlocked.Increment(ref _eventsFetched);
            await EmitAsync(url.AbsoluteUri, timestamp, finished: false, etag: null, lastModified: null, cancellationToken).ConfigureAwait(false);
            _events[uuid] = timestamp;
        }

        // Events no longer listed: forget their progress (the state file does not grow with a feed's history).
        foreach (var gone in _events.Keys.Where(k => !entries.ContainsKey(k)).ToList())
        {
            _events.Remove(gone);
            await EmitAsync(new Uri(_feed.BaseUrl, gone + ".json").AbsoluteUri, 0, finished: true, etag: null, lastModified: null, cancellationToken).ConfigureAwait(false);
        }

        // The validators are kept only once every event of this manifest is read: a 304 must never hide a failed one.
        var etag = failed == 0 ? manifest.ETag : null;
        var lastModified = failed == 0 ? manifest.LastModified : null;
        if (etag != _etag || lastModified != _lastModified || changed > 0)
        {
            _etag = etag;
            _lastModified = lastModified;
            await EmitAsync(_manifestUrl.AbsoluteUri, entries.Count == 0 ? 0 : entries.Values.Max(), finished: false, etag, lastModified, cancellationToken).ConfigureAwait(false);
        }

        AgentLog.FeedPolled(_logger, _source.Name, _feed.BaseUrl.AbsoluteUri, changed, entries.Count, failed);
    }

    /// <summary>The manifest's events and their timestamps; null (logged) when it is not a MISP feed manifest.</summary>
    private Dictionary<string, long>? ReadManifest(byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            return RejectManifest("not JSON (" + ex.Message + ")");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return RejectManifest("not a JSON object of event uuid -> event summary");
            }

            var entries = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                // The uuid becomes a file name in a URL: only a canonical uuid is accepted.
                if (!Guid.TryParseExact(entry.Name, "D", out var uuid))
                {
                    Diagnostics.Skip(0, "misp manifest entry name is not an event uuid", Truncate(entry.Name));
                    continue;
                }

                if (entry.Value.ValueKind != JsonValueKind.Object || Timestamp(entry.Value) is not { } timestamp)
                {
                    Diagnostics.Skip(0, "misp manifest entry without a valid timestamp", entry.Name);
                    continue;
                }

                entries[uuid.ToString("D")] = timestamp;
            }

            if (entries.Count == 0 && document.RootElement.EnumerateObject().Any())
            {
                return RejectManifest("no entry names an event (uuid) with a timestamp");
            }

            return entries;
        }
    }

    private Dictionary<string, long>? RejectManifest(string reason)
    {
        Diagnostics.Skip(0, "misp manifest not usable", reason);
        Interlocked.Increment(ref _failures);
        LastFailure = "manifest: " + reason;
        AgentLog.FeedManifestRejected(_logger, _source.Name, _manifestUrl.AbsoluteUri, reason);
        return null;
    }

    private static long? Timestamp(JsonElement entry)
    {
        if (!entry.TryGetProperty("timestamp", out var value))
        {
            return null;
        }

        long seconds;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n))
        {
            seconds = n;
        }
        else if (value.ValueKind != JsonValueKind.String || !long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out seconds))
        {
            return null;
        }

        return seconds is > 0 and < 253402300799 ? seconds : null;
    }

    private sealed record FeedResponse(bool NotModified, byte[] Body, string? ETag, string? LastModified);

    private async Task<FeedResponse?> FetchAsync(Uri url, bool conditional, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/json");
        var validators = conditional && (_etag is not null || _lastModified is not null);
        if (conditional)
        {
            if (_etag is not null)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", _etag);
            }

            if (_lastModified is not null)
            {
                request.Headers.TryAddWithoutValidation("If-Modified-Since", _lastModified);
            }
        }

        // One deadline for the whole request, body included (HttpClient.Timeout stops at the headers here).
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_feed.Timeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotModified && validators)
            {
                return new FeedResponse(true, [], null, null);
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                return Fail(url, string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}"));
            }

            if (response.Content.Headers.ContentLength is { } length && length > _feed.MaxBytes)
            {
                return Fail(url, string.Create(CultureInfo.InvariantCulture, $"body of {length} bytes is larger than maxBytes ({_feed.MaxBytes})"));
            }

            var stream = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                if (await ReadBoundedAsync(stream, _feed.MaxBytes, deadline.Token).ConfigureAwait(false) is not { } body)
                {
                    return Fail(url, string.Create(CultureInfo.InvariantCulture, $"body larger than maxBytes ({_feed.MaxBytes})"));
                }

                return new FeedResponse(false, body, response.Headers.ETag?.ToString(), response.Content.Headers.LastModified?.ToString("R", CultureInfo.InvariantCulture));
            }
        }
        catch (HttpRequestException ex)
        {
            return Fail(url, Describe(ex));
        }
        catch (IOException ex)
        {
            return Fail(url, "connection failed while reading the body: " + ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Fail(url, string.Create(CultureInfo.InvariantCulture, $"timed out after {_feed.Timeout.TotalSeconds:0} s (timeoutSeconds)"));
        }
    }

    private static string Describe(HttpRequestException ex)
    {
        for (Exception? inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException tls)
            {
                return "TLS: the server certificate was refused (" + tls.Message + "); check caFile and the URL's host name";
            }
        }

        return ex.HttpRequestError == HttpRequestError.Unknown ? ex.Message : ex.HttpRequestError + ": " + ex.Message;
    }

    private FeedResponse? Fail(Uri url, string reason)
    {
        Interlocked.Increment(ref _failures);
        LastFailure = reason;
        AgentLog.FeedRequestFailed(_logger, _source.Name, url.AbsoluteUri, reason);
        return null;
    }

    private static async Task<byte[]?> ReadBoundedAsync(Stream stream, long maxBytes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        while (true)
        {
            var n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + n > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, n);
        }
    }

    private async Task EmitAsync(string path, long offset, bool finished, string? etag, string? lastModified, CancellationToken cancellationToken)
    {
        var sightings = _emitter.Output;
        _emitter.Output = [];
        var checkpoint = new FileCheckpoint
        {
            Source = _source.Name,
            Path = path,
            Offset = offset,
            Finished = finished,
            ETag = etag,
            LastModified = lastModified,
        };
        await _output.WriteAsync(new ReadChunk(sightings, checkpoint), cancellationToken).ConfigureAwait(false);
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64];

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
