using System.Threading.Channels;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Delivery;
using CyberCoop.Agent.Feeds;
using CyberCoop.Agent.Spooling;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Pipeline;

/// <summary>
/// The running agent: one tailer per source -> bounded channel -> batcher -> spool -> delivery.
/// Memory is bounded by the channel capacity, the batch size and the line limit, whatever the
/// input rate: when the gateway is away the spool grows up to its cap, then the readers wait.
/// </summary>
internal sealed class AgentRunner : IAsyncDisposable
{
    /// <summary>
    /// Chunks buffered between readers and the batcher: 4 (≤ 2,048 sightings in flight) instead of 16 cost 11-20% less
    /// CPU on an all-alert backlog (less data alive across collections) with the same or lower peak RSS
    /// (docs/agent-performance.md, "Where the memory goes").
    /// </summary>
    public const int ChannelCapacity = 4;

    /// <summary>How long shutdown waits to spool what was read.</summary>
    public static readonly TimeSpan ShutdownFlushTimeout = TimeSpan.FromSeconds(10);

    private readonly AgentSettings _settings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Spool _spool;
    private readonly TailStateStore _state;
    private readonly Channel<ReadChunk> _channel;
    private readonly List<ISourceReader> _tailers = [];
    private readonly Batcher _batcher;
    private readonly Grpc.Net.Client.GrpcChannel? _grpc;
    private readonly GatewayDelivery _delivery;

    /// <summary>Opens the spool and state and prepares every part; <paramref name="client"/> overrides the mTLS channel (tests).</summary>
    public AgentRunner(AgentSettings settings, ILoggerFactory loggers, TimeProvider time, Ingest.IngestClient? client = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        _settings = settings;
        _time = time;
        _logger = loggers.CreateLogger("CyberCoop.Agent");
        _spool = Spool.Open(settings.SpoolDirectory, settings.SpoolMaxBytes, _logger, time: time);
        _state = TailStateStore.Load(settings.StateFile);
        Reconcile();
        _channel = Channel.CreateBounded<ReadChunk>(new BoundedChannelOptions(ChannelCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var known = new Dictionary<string, FileCheckpoint>(_state.Entries, StringComparer.Ordinal);
        foreach (var source in settings.Sources)
        {
            _tailers.Add(source.Feed is not null
                ? new MispFeedPoller(source, settings.Filter, known, _channel.Writer, _logger)
                : new SourceTailer(source, settings.Filter, settings.MaxLineBytes, known, _channel.Writer, _logger, time, settings.RotationGrace,
                    maxSightingsPerChunk: settings.BatchMaxItems));
        }

        _batcher = new Batcher(_channel.Reader, _spool, _state, settings.BatchMaxItems, settings.BatchLinger, time);
        var gateway = settings.GatewayAddress.ToString();
        if (client is null)
        {
            Trust = AgentTrust.Load(settings, time, _logger);
            var trust = Trust;
            _grpc = GatewayChannelFactory.Create(settings, trust, _logger);
            client = new Ingest.IngestClient(_grpc);
            Follower = new TrustBundleFollower(client, () => GatewayChannelFactory.Create(settings, trust, _logger, bundleOnly: true), trust, gateway, time, _logger);
        }

        _delivery = new GatewayDelivery(client, _spool, gateway, time, _logger, Trust, Follower);
    }

    /// <summary>The roots trusted for the own domain (null when a test passed its own client).</summary>
    public AgentTrust? Trust { get; }

    /// <summary>The gateway check at start and the trust bundle refresh (null when a test passed its own client).</summary>
    public TrustBundleFollower? Follower { get; }

    /// <summary>The spool.</summary>
    public Spool Spool => _spool;

    /// <summary>Delivery counters.</summary>
    public GatewayDelivery Delivery => _delivery;

    /// <summary>Batcher counters.</summary>
    public Batcher Batcher => _batcher;

    /// <summary>Per-source readers (file tailers and feed pollers).</summary>
    public IReadOnlyList<ISourceReader> Tailers => _tailers;

    /// <summary>Runs until <paramref name="cancellationToken"/> fires, then flushes what was read into the spool.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        AgentLog.Starting(_logger, _settings.Name, _settings.Sources.Count, _settings.GatewayAddress.ToString(), _settings.SpoolDirectory);
        using var readers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var delivery = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var batching = new CancellationTokenSource();
        var tailerTasks = _tailers.Select(t => RunTailerAsync(t, readers.Token)).ToArray();
        var batcherTask = _batcher.RunAsync(batching.Token);
        var deliveryTask = _delivery.RunAsync(delivery.Token);
        var followerTask = Follower?.RunAsync(delivery.Token) ?? Task.CompletedTask;
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await readers.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(tailerTasks).ConfigureAwait(false);
        _channel.Writer.TryComplete();

        // Flush what was read; if the spool is full and the gateway away, give up after a while:
        // those lines were not committed and are read again on the next start.
        batching.CancelAfter(ShutdownFlushTimeout);
        try
        {
            await batcherTask.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await delivery.CancelAsync().ConfigureAwait(false);
        await deliveryTask.ConfigureAwait(false);
        await followerTask.ConfigureAwait(false);
        AgentLog.Stopped(_logger);
    }

    private async Task RunTailerAsync(ISourceReader tailer, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await tailer.RunAsync(_settings.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                var delay = TimeSpan.FromSeconds(5);
                AgentLog.SourceFailed(_logger, ex, tailer.Diagnostics.File, (long)delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// A crash between spooling a batch and saving the read state leaves the spool ahead of the
    /// state: take the spool's checkpoint where it is further along.
    /// </summary>
    private void Reconcile()
    {
        var newer = new List<FileCheckpoint>();
        foreach (var c in _spool.RecoveredCheckpoints)
        {
            if (!_state.Entries.TryGetValue(c.Key, out var saved) || c.Offset > saved.Offset)
            {
                newer.Add(c);
                AgentLog.ResumedFromSpool(_logger, c.Source, c.Path, c.Offset);
            }
        }

        if (newer.Count > 0)
        {
            _state.Apply(newer);
            _state.Save();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        foreach (var t in _tailers)
        {
            t.Dispose();
        }

        _spool.Dispose();
        _grpc?.Dispose();
        return ValueTask.CompletedTask;
    }
}
