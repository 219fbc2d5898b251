using System.Collections.Concurrent;

namespace CyberCoop.Gateway.Hosting;

/// <summary>Live counters of the node and of each peer, read by the Admin status call and the demo.</summary>
internal sealed class NodeMetrics(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, PeerMetrics> _peers = new(StringComparer.Ordinal);
    private long _sightingsIngested;
    private long _sightingsRejected;
    private long _callsDenied;

    /// <summary>When the node started.</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public long SightingsIngested => Interlocked.Read(ref _sightingsIngested);

    public long SightingsRejected => Interlocked.Read(ref _sightingsRejected);

    public long CallsDenied => Interlocked.Read(ref _callsDenied);

    public void AddIngested(int accepted, int rejected)
    {
        Interlocked.Add(ref _sightingsIngested, accepted);
        Interlocked.Add(ref _sightingsRejected, rejected);
    }

    /// <summary>Starts the ingest totals from what the store counted before this start (they survive a restart).</summary>
    public void RestoreIngested(long ingested, long rejected)
    {
        Interlocked.Add(ref _sightingsIngested, ingested);
        Interlocked.Add(ref _sightingsRejected, rejected);
    }

    public void AddDenied() => Interlocked.Increment(ref _callsDenied);

    /// <summary>The counters of one peer (created on first use).</summary>
    public PeerMetrics Peer(string peerId) => _peers.GetOrAdd(peerId, static _ => new PeerMetrics());

    /// <summary>All peers with counters.</summary>
    public IReadOnlyDictionary<string, PeerMetrics> Peers => _peers;
}

/// <summary>Counters and connection state of one peer. Fields are updated with Interlocked.</summary>
internal sealed class PeerMetrics
{
    public long EnvelopesSent;
    public long EnvelopesReceived;
    public long EnvelopesRejected;

    /// <summary>Relayed envelopes dropped from the outbox because the origin no longer announces their signing key.</summary>
    public long EnvelopesDropped;
    public long IndicatorsSent;
    public long IndicatorsReceived;
    public long IndicatorsWithheld;
    public long IndicatorsQuarantined;

    /// <summary>The trust bundle sequence the peer named in the hello of its last Exchange stream to this node (0: none yet).</summary>
    public long HelloTrustBundleSequence;

    private readonly Lock _gate = new();
    private DateTimeOffset? _connectedSince;
    private DateTimeOffset? _lastAck;
    private string _lastError = "";
    private string _suite = "";
    private (int Attempt, TimeSpan Delay, long Retries) _backoff;

    public void Connected(DateTimeOffset at, string suite)
    {
        lock (_gate)
        {
            _connectedSince = at;
            _suite = suite;
            _lastError = "";
        }
    }

    public void Disconnected(string error)
    {
        lock (_gate)
        {
            _connectedSince = null;
            _lastError = error;
        }
    }

    /// <summary>The forwarder failed its <paramref name="attempt"/>-th attempt in a row (0 = first since the peer last accepted it) and waits <paramref name="delay"/>.</summary>
    public void Retrying(int attempt, TimeSpan delay)
    {
        lock (_gate)
        {
            _backoff = (attempt, delay, _backoff.Retries + 1);
        }
    }

    /// <summary>
    /// The last retry: its attempt number since the peer last accepted the stream, the delay before it, and how many
    /// retries there were in all.
    /// </summary>
    public (int Attempt, TimeSpan Delay, long Retries) Backoff
    {
        get
        {
            lock (_gate)
            {
                return _backoff;
            }
        }
    }

    public void Acked(DateTimeOffset at)
    {
        lock (_gate)
        {
            _lastAck = at;
        }
    }

    public void Error(string error)
    {
        lock (_gate)
        {
            _lastError = error;
        }
    }

    public (DateTimeOffset? ConnectedSince, DateTimeOffset? LastAck, string LastError, string Suite) Snapshot()
    {
        lock (_gate)
        {
            return (_connectedSince, _lastAck, _lastError, _suite);
        }
    }
}
