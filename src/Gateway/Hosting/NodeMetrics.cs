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

    /// <summary>Starts a peer's counters from what the store counted before this start (<c>peer_counters</c>).</summary>
    public void RestorePeer(Storage.PeerCountersRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var peer = Peer(row.Peer);
        Interlocked.Add(ref peer.EnvelopesSent, row.EnvelopesSent);
        Interlocked.Add(ref peer.IndicatorsSent, row.IndicatorsSent);
        Interlocked.Add(ref peer.EnvelopesReceived, row.EnvelopesReceived);
        Interlocked.Add(ref peer.IndicatorsReceived, row.IndicatorsReceived);
        Interlocked.Add(ref peer.IndicatorsWithheld, row.IndicatorsWithheld);
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
    /// <summary>Envelopes the peer acknowledged as accepted or duplicate (persisted: survives a restart).</summary>
    public long EnvelopesSent;

    /// <summary>Envelopes from the peer committed as new (persisted).</summary>
    public long EnvelopesReceived;

    /// <summary>Envelopes refused, by us or by the peer (since this start only).</summary>
    public long EnvelopesRejected;

    /// <summary>Relayed envelopes dropped from the outbox because the origin no longer announces their signing key.</summary>
    public long EnvelopesDropped;
    /// <summary>Indicators in the envelopes counted by <see cref="EnvelopesSent"/> (persisted).</summary>
    public long IndicatorsSent;

    /// <summary>Indicators accepted from the peer (persisted).</summary>
    public long IndicatorsReceived;

    /// <summary>Indicators withheld from the peer by outbound policy (persisted).</summary>
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
    private static readonly TimeSpan s_clockWindow = TimeSpan.FromMinutes(1);
    private readonly (DateTimeOffset At, TimeSpan Sample)[] _clockSamples = new (DateTimeOffset, TimeSpan)[32];
    private int _clockNext;
    private (DateTimeOffset At, TimeSpan Sample)? _lastClockSample;

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

    /// <summary>
    /// Records one clock sample from an envelope of this peer: its sent_at minus the time it arrived here (the peer's
    /// clock offset minus the transit time).
    /// </summary>
    public void ObserveClock(TimeSpan sample, DateTimeOffset at)
    {
        lock (_gate)
        {
            _clockSamples[_clockNext] = (at, sample);
            _clockNext = (_clockNext + 1) % _clockSamples.Length;
            _lastClockSample = (at, sample);
        }
    }

    /// <summary>
    /// The peer's measured clock offset (positive: ahead of this node): the largest sample of the last minute (the one
    /// with the shortest transit), else the last sample; null before any envelope arrived.
    /// </summary>
    public TimeSpan? ClockSkew(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_lastClockSample is not { } last)
            {
                return null;
            }

            TimeSpan? best = null;
            foreach (var (at, sample) in _clockSamples)
            {
                if (at != default && now - at <= s_clockWindow && (best is null || sample > best))
                {
                    best = sample;
                }
            }

            return best ?? last.Sample;
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
