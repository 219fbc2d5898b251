using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Security;
using CyberCoop.Gateway.Storage;
using Grpc.Core;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Streaming;

/// <summary>
/// Every open inbound stream (agents' Ingest, peers' Exchange) and every mutual-TLS connection, keyed by the
/// caller's certificate. When the trust state changes (a revocation applied, a peer removed, a trust domain
/// no longer pinned) and, for expiry, at a fixed interval (certificates expire while streams stay open), each stream whose
/// caller is no longer admitted is cut with PermissionDenied, counted and audited, and its connection is
/// closed: HTTP/2 would otherwise let the client open new streams on the already authenticated connection
/// (each new call is also re-validated by <see cref="CallerAuthorization"/>). <c>HttpContext.Abort()</c> is not
/// enough for that: on HTTP/2 Kestrel resets only the stream (RST_STREAM); the connection is closed through its
/// <see cref="ConnectionContext"/> instead (GOAWAY via RequestClose, then Abort after a grace period).
/// </summary>
internal sealed class LiveStreamRegistry : IDisposable
{
    /// <summary>How often open streams are checked for certificates that expired meanwhile.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly ITrustSnapshot _trustSnapshot;
    private readonly TimeProvider _time;
    private readonly NodeMetrics _metrics;
    private readonly IAuditSink _auditSink;
    private readonly CallerLimits _limits;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<LiveStream, byte> _streams = new();
    private readonly ConcurrentDictionary<string, LiveConnection> _connections = new(StringComparer.Ordinal);
    private readonly ITimer _sweep;
    private long _streamsCut;
    private long _connectionsClosed;
    private int _firstContacts;

    public LiveStreamRegistry(ITrustSnapshot trustSnapshot, TimeProvider time, NodeMetrics metrics, IAuditSink auditSink, CallerLimits limits, ILogger<LiveStreamRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(trustSnapshot);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(limits);
        _trustSnapshot = trustSnapshot;
        _limits = limits;
        _time = time;
        _metrics = metrics;
        _auditSink = auditSink;
        _logger = logger;
        trustSnapshot.Changed += OnTrustChanged;
        _sweep = time.CreateTimer(_ => SweepExpired(), null, SweepInterval, SweepInterval);
    }

    /// <summary>How long after its streams were cut a connection gets GOAWAY.</summary>
    public TimeSpan GoAwayDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a connection whose caller lost its admission may take to close gracefully (after GOAWAY) before it is aborted.</summary>
    public TimeSpan ConnectionCloseGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether connections of callers no longer admitted are closed (tests turn it off to exercise the per-call check alone).</summary>
    internal bool CloseConnections { get; set; } = true;

    /// <summary>Open streams.</summary>
    public int StreamCount => _streams.Count;

    /// <summary>Open, not yet cut streams of <paramref name="caller"/> (SPIFFE id text).</summary>
    public int StreamsOf(string caller) => _streams.Keys.Count(s => s.CutReason is null && string.Equals(s.CallerText, caller, StringComparison.Ordinal));

    /// <summary>
    /// The latest expiry of the client certificates <paramref name="caller"/> presents on its open streams now (null when it
    /// has none open): what the console shows as a peer's or agent's certificate expiry.
    /// </summary>
    public DateTimeOffset? CertificateNotAfter(string caller)
    {
        DateTimeOffset? latest = null;
        foreach (var stream in _streams.Keys)
        {
            if (stream.CutReason is null && string.Equals(stream.CallerText, caller, StringComparison.Ordinal) && (latest is null || stream.NotAfter > latest))
            {
                latest = stream.NotAfter;
            }
        }

        return latest;
    }

    /// <summary>Open mutual-TLS connections.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Streams cut so far.</summary>
    public long StreamsCut => Interlocked.Read(ref _streamsCut);

    /// <summary>Connections closed so far because their caller lost its admission.</summary>
    public long ConnectionsClosed => Interlocked.Read(ref _connectionsClosed);

    internal TrustState CurrentTrust => _trustSnapshot.Current;

    /// <summary>
    /// Registers an authorized stream; dispose the result when the stream ends. The caller is checked again
    /// against the current trust state, which closes the window between its authorization and the registration.
    /// </summary>
    public LiveStream Register(ServerCallContext context, SpiffeId caller, LiveCallerKind kind)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.GetHttpContext();
        var certificate = http.Connection.ClientCertificate
            ?? throw new InvalidOperationException("a live stream needs the caller's client certificate (authorize the call first)");
        var stream = new LiveStream(this, context, caller, kind, certificate, http.Connection.Id);
        _streams.TryAdd(stream, 0);
        if (Check(_trustSnapshot.Current, stream) is { } reason)
        {
            Cut(stream, reason);
        }

        return stream;
    }

    internal void Remove(LiveStream stream) => _streams.TryRemove(stream, out _);

    /// <summary>Why <paramref name="stream"/>'s caller is not admitted under <paramref name="trust"/>, or null when it is.</summary>
    internal static string? Check(TrustState trust, LiveStream stream)
    {
        if (trust.RevokedByDomain.TryGetValue(stream.Caller.TrustDomain, out var revoked) && revoked.Contains(stream.Serial))
        {
            return $"certificate revoked: {stream.CallerText} (serial {stream.Serial})";
        }

        if (stream.Kind == LiveCallerKind.Peer && !trust.Peers.ContainsKey(stream.CallerText))
        {
            return $"peer removed: {stream.CallerText} is no longer a configured peer";
        }

        if (!trust.PinnedDomains.Contains(stream.Caller.TrustDomain))
        {
            return $"trust domain {stream.Caller.TrustDomain} is no longer pinned: {stream.CallerText}";
        }

        var result = trust.Validator.Validate(stream.Certificate, null, CertificatePurpose.Client);
        if (result.IsValid)
        {
            return null;
        }

        return result.Rejection == ChainRejection.Revoked
            ? $"certificate revoked: {result.Reason}"
            : $"certificate no longer accepted: {result.Reason}";
    }

    /// <summary>Cuts a stream (once): counted, logged, and its connection closed.</summary>
    internal void Cut(LiveStream stream, string reason)
    {
        if (!stream.TryCut(reason))
        {
            return;
        }

        Interlocked.Increment(ref _streamsCut);
        LiveStreamLog.StreamCut(_logger, stream.Context.Method, stream.CallerText, reason);
        CloseConnection(stream.ConnectionId, reason);
    }

    /// <summary>Ends a cut stream's call with PermissionDenied; the denial is counted, logged and audited like every other.</summary>
    [DoesNotReturn]
    internal void Refuse(LiveStream stream, string reason)
    {
        _metrics.AddDenied();
        GatewayLog.CallDenied(_logger, stream.Context.Method, stream.CallerText, reason);
        _auditSink.AuditLater(new AuditEntry
        {
            Kind = AuditKinds.Denied,
            Actor = stream.CallerText,
            Subject = stream.Context.Method,
            Decision = "stream-cut",
            Reason = reason,
        });
        throw new RpcException(new Status(StatusCode.PermissionDenied, reason));
    }

    /// <summary>Kestrel connection middleware (after TLS): tracks the connection with its client certificate while it is open.</summary>
    public async Task TrackConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(next);
        var certificate = connection.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;
        if (certificate is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var validation = _trustSnapshot.Current.Validator.Validate(certificate, null, CertificatePurpose.Client);
        if (!validation.IsValid || validation.Id is not { } caller)
        {
            await FirstContactAsync(connection, certificate, next).ConfigureAwait(false);
            return;
        }

        // One identity holds at most node.limits.callerMaxConnections at once; a connection beyond it is closed before
        // its first call (the caller's client sees the connection end and retries after its backoff).
        using var slot = _limits.OpenConnection(caller.ToString());
        if (slot is null)
        {
            connection.Abort(new ConnectionAbortedException("node.limits.callerMaxConnections reached"));
            return;
        }

        var tracked = new LiveConnection(connection, certificate);
        _connections[connection.ConnectionId] = tracked;
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(new KeyValuePair<string, LiveConnection>(connection.ConnectionId, tracked));
        }
    }

    /// <summary>A connection admitted by <see cref="FirstContact"/>: few at once, short-lived.</summary>
    private async Task FirstContactAsync(ConnectionContext connection, X509Certificate2 certificate, ConnectionDelegate next)
    {
        try
        {
            if (Interlocked.Increment(ref _firstContacts) > FirstContact.MaxConnections)
            {
                LiveStreamLog.FirstContactRefused(_logger, certificate.Subject, $"more than {FirstContact.MaxConnections} first-contact connections open");
                connection.Abort(new ConnectionAbortedException("too many first-contact connections"));
                return;
            }

            using var lifetime = new CancellationTokenSource(FirstContact.Lifetime, _time);
            using var abort = lifetime.Token.Register(() => connection.Abort(new ConnectionAbortedException("first-contact connection lifetime reached")));
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _firstContacts);
        }
    }

    private void OnTrustChanged(TrustState previous, TrustState next) => Sweep(next);

    /// <summary>Cuts every stream and closes every connection whose caller <paramref name="trust"/> no longer admits.</summary>
    internal void Sweep(TrustState trust)
    {
        foreach (var stream in _streams.Keys)
        {
            if (stream.CutReason is null && Check(trust, stream) is { } reason)
            {
                Cut(stream, reason);
            }
        }

        foreach (var connection in _connections.Values)
        {
            if (connection.Closing)
            {
                continue;
            }

            var result = trust.Validator.Validate(connection.Certificate, null, CertificatePurpose.Client);
            if (!result.IsValid)
            {
                CloseConnection(connection.Connection.ConnectionId, result.Rejection == ChainRejection.Revoked
                    ? $"certificate revoked: {result.Reason}"
                    : $"certificate no longer accepted: {result.Reason}");
            }
        }
    }

    /// <summary>Cuts streams and closes connections whose client certificate expired while they were open.</summary>
    internal void SweepExpired()
    {
        var now = _time.GetUtcNow();
        foreach (var stream in _streams.Keys)
        {
            if (stream.CutReason is null && now > stream.NotAfter)
            {
                Cut(stream, $"certificate expired: {stream.CallerText} (not after {stream.NotAfter:O})");
            }
        }

        foreach (var connection in _connections.Values)
        {
            var notAfter = new DateTimeOffset(connection.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (!connection.Closing && now > notAfter)
            {
                CloseConnection(connection.Connection.ConnectionId, $"certificate expired (not after {notAfter:O})");
            }
        }
    }

    private void CloseConnection(string connectionId, string reason)
    {
        if (!CloseConnections || !_connections.TryGetValue(connectionId, out var connection) || !connection.BeginClosing())
        {
            return;
        }

        Interlocked.Increment(ref _connectionsClosed);
        LiveStreamLog.ConnectionClosed(_logger, connectionId, connection.Certificate.Subject, reason);
        _ = CloseLaterAsync(connection, reason);
    }

    /// <summary>
    /// Lets the cut streams' status reach the client first (a socket closed while the client still sends can reset
    /// the connection before the client read it), then GOAWAY: no new stream here, the connection ends when its
    /// streams have; whatever is left is aborted after the grace period. New calls meanwhile are refused per call.
    /// </summary>
    private async Task CloseLaterAsync(LiveConnection connection, string reason)
    {
        var closed = connection.Connection.ConnectionClosed;
        try
        {
            await Task.Delay(GoAwayDelay, _time, closed).ConfigureAwait(false);
            connection.Connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
            await Task.Delay(ConnectionCloseGrace, _time, closed).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        connection.Connection.Abort(new ConnectionAbortedException(reason));
    }

    public void Dispose()
    {
        _trustSnapshot.Changed -= OnTrustChanged;
        _sweep.Dispose();
    }

    private sealed class LiveConnection(ConnectionContext connection, X509Certificate2 certificate)
    {
        private int _closing;

        public ConnectionContext Connection { get; } = connection;

        public X509Certificate2 Certificate { get; } = certificate;

        public bool Closing => Volatile.Read(ref _closing) != 0;

        public bool BeginClosing() => Interlocked.Exchange(ref _closing, 1) == 0;
    }
}
