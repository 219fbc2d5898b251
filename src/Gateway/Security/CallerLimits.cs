using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.RateLimiting;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Security;

/// <summary>
/// Per-identity limits of the inbound streams (node.limits; threat model 5.6): each agent identity and each peer has
/// its own token bucket (sightings or envelopes per second, with a burst) and its own stream quota, so one certificate,
/// however many streams it opens, cannot take the node's capacity from the others.
/// <list type="bullet">
/// <item>A stream beyond the identity's quota is refused at once with RESOURCE_EXHAUSTED. A mutual-TLS connection
/// beyond its quota of connections (<c>callerMaxConnections</c>) is closed before its first call.</item>
/// <item>A message whose bucket is empty waits for tokens on the stream's reading thread (the stream is slowed; HTTP/2
/// flow control pushes back to the sender). When the identity already has a bucket's worth waiting (several streams
/// pushing flat out), the message is refused: its stream ends with RESOURCE_EXHAUSTED after every earlier message
/// was answered, so nothing answered is lost and the sender re-sends the rest later.</item>
/// <item>Refusals are counted per limit and identity (metric <c>cybercoop.limits.refused</c>) and audited in
/// aggregate: one <c>rate-limited</c> entry at the first refusal of an identity and limit, then at most one summary
/// per <see cref="AuditWindow"/> with the number refused meanwhile, so a flood cannot flood the audit log.</item>
/// </list>
/// Buckets are <see cref="TokenBucketRateLimiter"/>s (<see cref="IdentityBucket"/>) refilled from one
/// <see cref="TimeProvider"/> timer, stream quotas <see cref="ConcurrencyLimiter"/>s. A config reload with other limits
/// applies to new streams and messages; messages already waiting are served by their old bucket.
/// </summary>
internal sealed class CallerLimits : IDisposable
{
    /// <summary>Limit names as they appear in statuses, audit entries and metrics (the config field).</summary>
    public const string AgentSightingsPerSecond = "node.limits.agentSightingsPerSecond";

    /// <inheritdoc cref="AgentSightingsPerSecond"/>
    public const string AgentMaxStreams = "node.limits.agentMaxStreams";

    /// <inheritdoc cref="AgentSightingsPerSecond"/>
    public const string PeerEnvelopesPerSecond = "node.limits.peerEnvelopesPerSecond";

    /// <inheritdoc cref="AgentSightingsPerSecond"/>
    public const string PeerMaxStreams = "node.limits.peerMaxStreams";

    /// <inheritdoc cref="AgentSightingsPerSecond"/>
    public const string CallerMaxConnections = "node.limits.callerMaxConnections";

    /// <summary>How often token buckets are refilled (each by the tokens due for the time elapsed).</summary>
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(50);

    private readonly ITrustSnapshot _trustSnapshot;
    private readonly TimeProvider _time;
    private readonly IAuditSink _auditSink;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly Lock _auditGate = new();
    private readonly Dictionary<(string Limit, string Caller, string Decision), RefusalWindow> _windows = [];
    private readonly ConcurrentDictionary<(string Limit, string Caller), long> _refused = new();
    private long _delayed;
    private volatile LimitState _state;
    private ImmutableList<LimitState> _retired = [];

    public CallerLimits(ITrustSnapshot trustSnapshot, TimeProvider time, IAuditSink auditSink, ILogger<CallerLimits> logger)
    {
        ArgumentNullException.ThrowIfNull(trustSnapshot);
        ArgumentNullException.ThrowIfNull(time);
        _trustSnapshot = trustSnapshot;
        _time = time;
        _auditSink = auditSink;
        _logger = logger;
        _state = new LimitState(trustSnapshot.Current.Config.Config.Node.Limits);
        trustSnapshot.Changed += OnTrustChanged;
        _timer = time.CreateTimer(_ => Tick(), null, s_tick, s_tick);
    }

    /// <summary>After the first refusal of an identity and limit is audited, further ones are summed up over this long.</summary>
    public static TimeSpan AuditWindow { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The limits in force.</summary>
    public LimitsConfig Current => _state.Options;

    /// <summary>Refusals so far, by limit and caller.</summary>
    public IReadOnlyDictionary<(string Limit, string Caller), long> Refused => _refused;

    /// <summary>Messages that had to wait for their identity's bucket.</summary>
    public long Delayed => Interlocked.Read(ref _delayed);

    /// <summary>
    /// Takes one of the caller's stream slots for as long as the returned lease is held, or throws RESOURCE_EXHAUSTED
    /// when the caller already has its quota of streams open.
    /// </summary>
    public IDisposable OpenStream(string caller, LiveCallerKind kind, string method)
    {
        var state = _state;
        var (limiters, limit, max) = kind == LiveCallerKind.Agent
            ? (state.AgentStreams, AgentMaxStreams, state.Options.AgentMaxStreams)
            : (state.PeerStreams, PeerMaxStreams, state.Options.PeerMaxStreams);
        if (TakeSlot(limiters, caller, max) is { } slot)
        {
            return slot;
        }

        Refuse(limit, caller, method, $"{limit}: {caller} already has {max} streams open (the limit); close one or wait");
        return null!;
    }

    /// <summary>
    /// Takes one of the caller's connection slots for as long as the returned lease is held, or returns null when the
    /// caller (an agent or peer identity, SPIFFE id text) already holds its quota of mutual-TLS connections: the
    /// refusal is counted, logged and audited like a stream refused, and the caller closes the connection.
    /// </summary>
    public IDisposable? OpenConnection(string caller)
    {
        var state = _state;
        var max = state.Options.CallerMaxConnections;
        if (TakeSlot(state.Connections, caller, max) is { } slot)
        {
            return slot;
        }

        _refused.AddOrUpdate((CallerMaxConnections, caller), 1, static (_, n) => n + 1);
        Note(CallerMaxConnections, caller, "connection", "refused",
            $"{CallerMaxConnections}: {caller} already holds {max} connections (the limit); the new one is closed before its first call");
        return null;
    }

    /// <summary>
    /// Admits <paramref name="count"/> sightings (agent) or envelopes (peer) of <paramref name="caller"/>: returns at
    /// once when its bucket holds them, waits when it does not, and throws RESOURCE_EXHAUSTED when the caller already
    /// has a bucket's worth waiting.
    /// </summary>
    public ValueTask AdmitAsync(string caller, LiveCallerKind kind, int count, string method, CancellationToken ct)
    {
        var state = _state;
        var bucket = state.Bucket(caller, kind);
        var permits = Math.Clamp(count, 1, bucket.Limit);
        var lease = bucket.Limiter.AttemptAcquire(permits);
        if (lease.IsAcquired)
        {
            lease.Dispose();
            return ValueTask.CompletedTask;
        }

        lease.Dispose();
        return WaitAsync(bucket, caller, kind, permits, method, ct);
    }

    private async ValueTask WaitAsync(IdentityBucket bucket, string caller, LiveCallerKind kind, int permits, string method, CancellationToken ct)
    {
        Interlocked.Increment(ref _delayed);
        var options = _state.Options;
        var limit = kind == LiveCallerKind.Agent ? AgentSightingsPerSecond : PeerEnvelopesPerSecond;
        using var lease = await bucket.Limiter.AcquireAsync(permits, ct).ConfigureAwait(false);
        if (lease.IsAcquired)
        {
            var rate = kind == LiveCallerKind.Agent
                ? $"{options.AgentSightingsPerSecond} sightings/s (burst {options.AgentSightingsBurst})"
                : $"{options.PeerEnvelopesPerSecond} envelopes/s (burst {options.PeerEnvelopesBurst})";
            Note(limit, caller, method, "delayed", $"{limit}: {caller} sends faster than {rate}; its stream is slowed to that rate");
            return;
        }

        var message = kind == LiveCallerKind.Agent
            ? $"{AgentSightingsPerSecond}: {caller} sends more than {options.AgentSightingsPerSecond} sightings/s " +
              $"(burst {options.AgentSightingsBurst}) with a burst's worth already waiting; slow down and re-send what was not answered"
            : $"{PeerEnvelopesPerSecond}: {caller} sends more than {options.PeerEnvelopesPerSecond} envelopes/s " +
              $"(burst {options.PeerEnvelopesBurst}) with a burst's worth already waiting; slow down and re-send what was not acknowledged";
        Refuse(limit, caller, method, message);
    }

    /// <summary>One of <paramref name="caller"/>'s <paramref name="max"/> slots in <paramref name="limiters"/>, held until disposed; null when all are taken.</summary>
    private static RateLimitLease? TakeSlot(ConcurrentDictionary<string, ConcurrencyLimiter> limiters, string caller, int max)
    {
        var limiter = limiters.GetOrAdd(caller, static (_, permits) => new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = permits,
            QueueLimit = 0,
        }), max);
        var lease = limiter.AttemptAcquire(1);
        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        return null;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Refuse(string limit, string caller, string method, string message)
    {
        _refused.AddOrUpdate((limit, caller), 1, static (_, n) => n + 1);
        Note(limit, caller, method, "refused", message);
        throw new RpcException(new Status(StatusCode.ResourceExhausted, message));
    }

    /// <summary>
    /// Logs and audits the first <paramref name="decision"/> ("refused" or "delayed") of a caller under a limit; later
    /// ones within <see cref="AuditWindow"/> are only counted and written as one summary when the window ends.
    /// </summary>
    private void Note(string limit, string caller, string method, string decision, string message)
    {
        var now = _time.GetUtcNow();
        var first = false;
        lock (_auditGate)
        {
            if (_windows.TryGetValue((limit, caller, decision), out var window))
            {
                window.Suppressed++;
            }
            else
            {
                _windows[(limit, caller, decision)] = new RefusalWindow(now);
                first = true;
            }
        }

        if (!first)
        {
            return;
        }

        GatewayLog.RateLimited(_logger, caller, method, decision, message);
        _auditSink.AuditLater(new AuditEntry
        {
            Kind = AuditKinds.RateLimited,
            Actor = caller,
            Subject = method,
            Decision = decision,
            Reason = message + $" (further ones of {caller} under {limit} are summed up over {AuditWindow.TotalSeconds:0} s)",
        });
    }

    /// <summary>Refills the buckets by the time elapsed and writes the summaries of audit windows that ended.</summary>
    private void Tick()
    {
        _state.Replenish();
        foreach (var retired in _retired)
        {
            retired.Replenish();
            if (retired.Waiting == 0)
            {
                ImmutableInterlocked.Update(ref _retired, static (list, r) => list.Remove(r), retired);
            }
        }

        List<((string Limit, string Caller, string Decision) Key, long Count, DateTimeOffset Since)>? ended = null;
        var now = _time.GetUtcNow();
        lock (_auditGate)
        {
            foreach (var (key, window) in _windows)
            {
                if (now - window.Start >= AuditWindow)
                {
                    (ended ??= []).Add((key, window.Suppressed, window.Start));
                }
            }

            foreach (var (key, _, _) in ended ?? [])
            {
                _windows.Remove(key);
            }
        }

        foreach (var ((limit, caller, decision), count, since) in ended ?? [])
        {
            if (count == 0)
            {
                continue;
            }

            var summary = $"{limit}: {count} more streams or messages of {caller} {decision} since {since:O}";
            GatewayLog.RateLimitSummary(_logger, caller, count, decision, limit);
            _auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.RateLimited, Actor = caller, Subject = limit, Decision = decision + "-summary", Reason = summary });
        }
    }

    private void OnTrustChanged(TrustState previous, TrustState next)
    {
        var options = next.Config.Config.Node.Limits;
        var old = _state;
        if (options == old.Options)
        {
            return;
        }

        _state = new LimitState(options);
        // Messages already waiting are served by their old bucket (refilled until none waits); the next ones by the new.
        ImmutableInterlocked.Update(ref _retired, static (list, r) => list.Add(r), old);
    }

    public void Dispose()
    {
        _trustSnapshot.Changed -= OnTrustChanged;
        _timer.Dispose();
    }

    private sealed class RefusalWindow(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; } = start;

        public long Suppressed { get; set; }
    }

    /// <summary>The limiters of one set of limits (replaced as a whole when a reload changes the limits).</summary>
    private sealed class LimitState(LimitsConfig options)
    {
        private readonly ConcurrentDictionary<string, IdentityBucket> _agentBuckets = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, IdentityBucket> _peerBuckets = new(StringComparer.Ordinal);

        public LimitsConfig Options { get; } = options;

        public ConcurrentDictionary<string, ConcurrencyLimiter> AgentStreams { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, ConcurrencyLimiter> PeerStreams { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, ConcurrencyLimiter> Connections { get; } = new(StringComparer.Ordinal);

        /// <summary>Tokens awaited in any bucket.</summary>
        public long Waiting => _agentBuckets.Values.Sum(b => b.Waiting) + _peerBuckets.Values.Sum(b => b.Waiting);

        public IdentityBucket Bucket(string caller, LiveCallerKind kind) => kind == LiveCallerKind.Agent
            ? _agentBuckets.GetOrAdd(caller, static (_, o) => new IdentityBucket(o.AgentSightingsPerSecond, o.AgentSightingsBurst), Options)
            : _peerBuckets.GetOrAdd(caller, static (_, o) => new IdentityBucket(o.PeerEnvelopesPerSecond, o.PeerEnvelopesBurst), Options);

        public void Replenish()
        {
            foreach (var bucket in _agentBuckets.Values)
            {
                bucket.Replenish();
            }

            foreach (var bucket in _peerBuckets.Values)
            {
                bucket.Replenish();
            }
        }
    }
}
