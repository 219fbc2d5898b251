using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Outbound;

/// <summary>
/// Delivers one peer's outbox over a bidirectional Exchange stream. Each outbox entry is sealed to
/// the peer's current KEM key when sent; it leaves the outbox only when the peer acknowledges it
/// (the peer acks only after its commit), so any crash or disconnect leads to a re-send that the
/// peer drops as a duplicate. Reconnects with jittered exponential backoff and refreshes the
/// peer's trust bundle on every connect and at the refresh hint.
/// </summary>
internal sealed class PeerForwarder : IAsyncDisposable
{
    private const int Window = 32;

    private readonly IOutboxStore _outboxStore;
    private readonly ITrustSnapshot _trustSnapshot;
    private readonly INodeIdentitySource _nodeIdentity;
    private readonly TimeProvider _time;
    private readonly IAuditSink _auditSink;
    private readonly PeerKeyDirectory _directory;
    private readonly OutboundDispatcher _dispatcher;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly PeerMetrics _metrics;
    private Task? _loop;
    private X509Certificate2? _serverCertificate;
    private CancellationTokenSource? _session;
    private string? _cutReason;
    private long _streamOpenedAt;

    public PeerForwarder(IOutboxStore outboxStore, ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, NodeMetrics metrics,
        IAuditSink auditSink, PeerKeyDirectory directory, OutboundDispatcher dispatcher, PeerSettings peer, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _outboxStore = outboxStore;
        _trustSnapshot = trustSnapshot;
        _nodeIdentity = nodeIdentity;
        _time = time;
        _auditSink = auditSink;
        _directory = directory;
        _dispatcher = dispatcher;
        Peer = peer;
        _logger = logger;
        _metrics = metrics.Peer(peer.IdText);
    }

    /// <summary>The peer served.</summary>
    public PeerSettings Peer { get; }

    /// <summary>Starts the delivery loop.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Wakes the loop (new outbox entries).</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var attempt = 0;
        TimeSpan? loggedStep = null;
        string? loggedClass = null;
        while (!ct.IsCancellationRequested)
        {
            Volatile.Write(ref _streamOpenedAt, 0);
            try
            {
                await SessionAsync(ct, () =>
                {
                    // The peer accepted the stream (it acknowledged an envelope): the next failure starts from the shortest delay.
                    Volatile.Write(ref attempt, 0);
                }).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                var message = Interlocked.Exchange(ref _cutReason, null)
                    ?? (ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message);
                _metrics.Disconnected(message);
                var reconnect = _trustSnapshot.Current.Config.Config.Node.Reconnect;
                var denied = IsRefusal(ex);
                var max = TimeSpan.FromSeconds(denied ? reconnect.DeniedMaxBackoffSeconds : reconnect.MaxBackoffSeconds);
                var min = TimeSpan.FromMilliseconds(reconnect.MinBackoffMilliseconds);
                var opened = Volatile.Read(ref _streamOpenedAt);
                if (opened != 0 && _time.GetElapsedTime(opened) >= TimeSpan.FromSeconds(reconnect.MaxBackoffSeconds))
                {
                    // A session that stayed up this long was accepted, even if nothing was acknowledged on it.
                    Volatile.Write(ref attempt, 0);
                }

                var current = Volatile.Read(ref attempt);
                var step = BackoffStep(current, min, max);
                var delay = Backoff(current, min, max, Random.Shared.NextDouble());
                Volatile.Write(ref attempt, current + 1);
                _metrics.Retrying(current, delay);
                var failureClass = denied ? "refused" : "failed";
                if (step != loggedStep || failureClass != loggedClass || current == 0)
                {
                    // Logged once per backoff step (and when the kind of failure changes), not once per attempt.
                    loggedStep = step;
                    loggedClass = failureClass;
                    if (denied)
                    {
                        GatewayLog.PeerRefusedUs(_logger, Peer.IdText, (long)delay.TotalMilliseconds, message);
                    }
                    else
                    {
                        GatewayLog.PeerDeliveryFailed(_logger, Peer.IdText, (long)delay.TotalMilliseconds, message);
                    }
                }
                else
                {
                    GatewayLog.PeerRetryAtCap(_logger, Peer.IdText, (long)delay.TotalMilliseconds, message);
                }

                try
                {
                    await Task.Delay(delay, _time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                break;
            }
        }

        _metrics.Disconnected("stopped");
    }

    /// <summary>
    /// Whether the peer refused this node rather than failed: PermissionDenied or Unauthenticated (not pinned there
    /// yet, removed, revoked), ResourceExhausted (its per-peer limits), or a TLS handshake it did not accept. Such a
    /// refusal does not pass by retrying quickly, so it backs off up to node.reconnect.deniedMaxBackoffSeconds. The peer's
    /// RESOURCE_EXHAUSTED "storage-full" or "storage-exhausted" (its disk or its database server, not its limits) is an
    /// ordinary failure.
    /// </summary>
    internal static bool IsRefusal(Exception ex)
    {
        if (ex is RpcException { StatusCode: StatusCode.ResourceExhausted } full
            && (full.Status.Detail.StartsWith(DamagedDatabaseInterceptor.StorageFull + ":", StringComparison.Ordinal)
                || full.Status.Detail.StartsWith(DamagedDatabaseInterceptor.StorageExhausted + ":", StringComparison.Ordinal)))
        {
            // The peer's disk is full or its database server is short of a resource: not a refusal of this node, and it
            // passes once the peer has room again.
            return false;
        }

        if (ex is RpcException { StatusCode: StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.ResourceExhausted })
        {
            return true;
        }

        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Called after a trust change: when the certificate the peer's server presented is no longer accepted (revoked
    /// by its domain's bundle, its domain un-pinned), the open Exchange stream is closed at once. Unacknowledged
    /// envelopes stay in the outbox; the reconnect is refused at the handshake until the peer presents a valid certificate.
    /// </summary>
    public void CheckServerCertificate(TrustState trust)
    {
        ArgumentNullException.ThrowIfNull(trust);
        var certificate = Volatile.Read(ref _serverCertificate);
        if (certificate is null)
        {
            return;
        }

        var result = trust.Validator.Validate(certificate, null, CertificatePurpose.Server);
        if (result.IsValid && result.Id == Peer.Id)
        {
            return;
        }

        var reason = result.Rejection == ChainRejection.Revoked ? $"peer certificate revoked: {result.Reason}" : $"peer certificate no longer accepted: {result.Reason}";
        Volatile.Write(ref _serverCertificate, null);
        Interlocked.Exchange(ref _cutReason, reason);
        _metrics.Error(reason);
        LiveStreamLog.OutboundStreamCut(_logger, Peer.IdText, reason);
        _auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Denied, Actor = Peer.IdText, Subject = "outbound-exchange", Decision = "stream-cut", Reason = reason });
        try
        {
            Volatile.Read(ref _session)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended meanwhile.
        }
    }

    /// <summary>
    /// How often the peer's trust bundle is fetched again: the refresh hint its accepted bundle carries, or this node's
    /// node.trustBundleRefreshSeconds when that is shorter (or no bundle is held yet).
    /// </summary>
    private TimeSpan RefreshInterval()
    {
        var trust = _trustSnapshot.Current;
        var own = TimeSpan.FromSeconds(Math.Max(1, trust.Config.Config.Node.TrustBundleRefreshSeconds));
        return trust.PeerBundles.TryGetValue(Peer.Id.TrustDomain, out var held) && held.Bundle.RefreshHint > TimeSpan.Zero && held.Bundle.RefreshHint < own
            ? held.Bundle.RefreshHint
            : own;
    }

    /// <summary>The backoff step of attempt <paramref name="attempt"/>: min * 2^attempt, capped at <paramref name="max"/>.</summary>
    internal static TimeSpan BackoffStep(int attempt, TimeSpan min, TimeSpan max) =>
        TimeSpan.FromMilliseconds(Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt, 0, 30))));

    /// <summary>
    /// Exponential backoff with "equal jitter": uniform in [step / 2, step] for the attempt's step, so peers that lost
    /// their streams together spread out, and the delays still add up to at least half the schedule (a bound on the
    /// attempts in any window). <paramref name="random"/> is in [0, 1).
    /// </summary>
    internal static TimeSpan Backoff(int attempt, TimeSpan min, TimeSpan max, double random)
    {
        var step = BackoffStep(attempt, min, max).TotalMilliseconds;
        return TimeSpan.FromMilliseconds((step / 2) + (Math.Clamp(random, 0, 1) * step / 2));
    }

    private async Task SessionAsync(CancellationToken ct, Action connected)
    {
        using var channel = PeerChannelFactory.Create(_trustSnapshot, _nodeIdentity, Peer, certificate => Volatile.Write(ref _serverCertificate, X509CertificateLoader.LoadCertificate(certificate.RawData)));
        var client = new Contracts.V1.Federation.FederationClient(channel);
        var error = await _directory.RefreshAsync(Peer, client, ct).ConfigureAwait(false);
        if (error is not null)
        {
            throw new InvalidOperationException("trust bundle not accepted: " + error);
        }

        var keys = _directory.Find(Peer.IdText) ?? throw new InvalidOperationException($"the trust bundle of {Peer.Id.TrustDomain} does not announce keys for {Peer.IdText}");
        var (suite, suiteError) = SuiteNegotiation.ForPeer(_trustSnapshot, _nodeIdentity, Peer, keys);
        if (suiteError is not null)
        {
            throw new InvalidOperationException(suiteError);
        }

        _ = CurrentKemKey(suite);
        _dispatcher.Notify();

        using var sessionCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Volatile.Write(ref _session, sessionCts);
        using var call = client.Exchange(cancellationToken: sessionCts.Token);
        await call.RequestStream.WriteAsync(new ExchangeRequest
        {
            // The sequence of the own domain's bundle this node serves (GetTrustBundle), as the receiver would fetch it.
            Hello = new ExchangeHello { Sender = _nodeIdentity.Current.IdText, TrustBundleSequence = _trustSnapshot.Current.OwnBundle.Sequence },
        }, sessionCts.Token).ConfigureAwait(false);
        Volatile.Write(ref _streamOpenedAt, _time.GetTimestamp());
        _metrics.Connected(_time.GetUtcNow(), Suites.Name(suite));
        GatewayLog.PeerConnected(_logger, Peer.IdText, Suites.Name(suite));

        var inFlight = new ConcurrentDictionary<string, OutboxEntry>(StringComparer.Ordinal);
        using var acked = new SemaphoreSlim(0);
        var refusal = new StrongBox<string?>();
        var acks = Task.Run(() => ReadAcksAsync(call.ResponseStream, inFlight, acked, refusal, sessionCts.Token, connected), sessionCts.Token);
        var nextRefresh = _time.GetUtcNow() + RefreshInterval();
        long lastSeq = 0;
        try
        {
            while (!sessionCts.IsCancellationRequested)
            {
                if (acks.IsCompleted)
                {
                    await acks.ConfigureAwait(false);
                    throw new InvalidOperationException("the peer closed the exchange stream");
                }

                if (_time.GetUtcNow() >= nextRefresh)
                {
                    // A bundle the peer now serves that is not acceptable (expired, not root-signed, ...) ends the session
                    // as it would refuse a new one: unacked envelopes stay in the outbox and are re-sent after a fix.
                    var refreshError = await _directory.RefreshAsync(Peer, client, sessionCts.Token).ConfigureAwait(false);
                    if (refreshError is not null)
                    {
                        throw new InvalidOperationException("trust bundle not accepted: " + refreshError);
                    }

                    nextRefresh = _time.GetUtcNow() + RefreshInterval();
                }

                if (inFlight.Count >= Window || Volatile.Read(ref refusal.Value) is not null)
                {
                    // Window full, or the peer refused an envelope for now: no new envelopes until the acks of those in
                    // flight are in (the ack reader then ends the session, and the refused ones are re-sent after it).
                    await acked.WaitAsync(TimeSpan.FromSeconds(1), sessionCts.Token).ConfigureAwait(false);
                    continue;
                }

                var entries = await _outboxStore.ReadOutboxAsync(Peer.IdText, lastSeq, Window - inFlight.Count, sessionCts.Token).ConfigureAwait(false);
                if (entries.Count == 0)
                {
                    await Task.WhenAny(_wake.WaitAsync(TimeSpan.FromSeconds(1), sessionCts.Token), acks).ConfigureAwait(false);
                    continue;
                }

                // Chosen by time for every batch: the peer's newly announced key is used from its not-before on.
                var kemKey = CurrentKemKey(suite);
                var resignBefore = _nodeIdentity.Current.ResignBefore();
                foreach (var entry in entries)
                {
                    if (entry.HopCount > 0 && entry.Kind == PayloadKind.Bundle && await DropIfOriginKeyWithdrawnAsync(entry, sessionCts.Token).ConfigureAwait(false))
                    {
                        lastSeq = entry.Seq;
                        continue;
                    }

                    var payload = entry.CreatedAt >= resignBefore ? entry.EnvelopeBytes
                        : entry.Kind == PayloadKind.Bundle ? Resign(entry)
                        : Lifecycle.LifecycleSigning.Resign(_nodeIdentity.Current, entry.Kind, entry.EnvelopeBytes, _time.GetUtcNow());
                    var envelope = Seal(entry, payload, kemKey);
                    inFlight[Convert.ToHexStringLower(entry.EnvelopeId)] = entry;
                    await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = envelope }, sessionCts.Token).ConfigureAwait(false);
                    lastSeq = entry.Seq;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _session, null);
            await sessionCts.CancelAsync().ConfigureAwait(false);
            try
            {
                await acks.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException)
            {
                // The session is over either way.
            }
        }
    }

    /// <summary>The peer's KEM key to seal to now (its newest announced key in its validity window).</summary>
    private ContentPublicKey CurrentKemKey(Suite suite)
    {
        var keys = _directory.Find(Peer.IdText) ?? throw new InvalidOperationException($"the trust bundle of {Peer.Id.TrustDomain} does not announce keys for {Peer.IdText}");
        return SuiteNegotiation.KemKey(keys, suite, _time.GetUtcNow(), SuiteNegotiation.Skew(_trustSnapshot))
            ?? throw new InvalidOperationException($"{Peer.IdText} announces no KEM key for suite {Suites.Name(suite)} that is valid now");
    }

    /// <summary>
    /// An own bundle signed with a key this node no longer announces (its grace ended while the bundle waited, or it was
    /// withdrawn by <c>keys rotate --now</c>) is signed again with the current key and a fresh created-at, so the peer can
    /// verify it; the bundle id stays, so a copy that did arrive earlier is still dropped as a duplicate. Relayed bundles
    /// are left as they are: only their origin can sign them.
    /// </summary>
    private byte[] Resign(OutboxEntry entry)
    {
        var identity = _nodeIdentity.Current;
        SignedBundle signed;
        Bundle bundle;
        try
        {
            signed = SignedBundle.Parser.ParseFrom(entry.EnvelopeBytes);
            if (identity.IsAnnouncedSigningKey(signed.SignerKeyId.Span))
            {
                return entry.EnvelopeBytes;
            }

            bundle = Bundle.Parser.ParseFrom(signed.Bundle);
        }
        catch (InvalidProtocolBufferException)
        {
            return entry.EnvelopeBytes;
        }

        if (bundle.Origin != identity.IdText)
        {
            return entry.EnvelopeBytes;
        }

        var now = _time.GetUtcNow();
        bundle.CreatedAt = Timestamp.FromDateTimeOffset(now);
        var key = identity.SigningKey(signed.Suite, now);
        GatewayLog.BundleResigned(_logger, Convert.ToHexStringLower(bundle.BundleId.Span), Peer.IdText, Convert.ToHexStringLower(signed.SignerKeyId.Span));
        var resigned = BundleProtection.Sign(bundle.ToByteArray(), key);
        resigned.OriginAnnouncement = signed.OriginAnnouncement;
        return resigned.ToByteArray();
    }

    /// <summary>
    /// A relayed bundle signed with a key its origin no longer announces (withdrawn by <c>keys rotate --now</c>, or its
    /// grace ended while the bundle waited here) can never be verified by the next hop, and only the origin could sign
    /// it again: it is dropped from this peer's outbox, audited and counted, instead of blocking the link behind it.
    /// Decided only on an announcement the origin issued after the bundle was created; with no such knowledge the
    /// envelope is sent and the next hop decides. Returns true when the envelope is no longer queued (dropped here, or
    /// already removed by another session); only the session whose delete removed it audits and counts the drop.
    /// </summary>
    private async Task<bool> DropIfOriginKeyWithdrawnAsync(OutboxEntry entry, CancellationToken ct)
    {
        var withdrawn = OriginKeyWithdrawn(entry, out var bundleId);
        if (withdrawn is null)
        {
            return false;
        }

        if (!await _outboxStore.DeleteOutboxAsync(Peer.IdText, entry.EnvelopeId, ct).ConfigureAwait(false))
        {
            // Already gone: dropped (or acked) by another session for this peer, e.g. the forwarder a connection change
            // replaced, which stops in the background. One drop, one audit entry, one count.
            return true;
        }

        Interlocked.Increment(ref _metrics.EnvelopesDropped);
        GatewayLog.RelayedBundleDropped(_logger, bundleId, Peer.IdText);
        _auditSink.AuditLater(new AuditEntry
        {
            Kind = AuditKinds.Withheld,
            Actor = _nodeIdentity.Current.IdText,
            Subject = "bundle:" + bundleId,
            Decision = "relay-withheld",
            Reason = $"to {Peer.IdText}: {withdrawn}",
        });
        return true;
    }

    /// <summary>
    /// The next hop refused a relayed envelope with <c>origin-key-unknown</c>: the origin's announcement is fetched again
    /// when the origin is a peer (otherwise the relayed announcement held here is used) and the envelope dropped if the
    /// key is indeed no longer announced. Returns false to keep the retry.
    /// </summary>
    private async Task<bool> RecheckRefusedRelayAsync(OutboxEntry entry, CancellationToken ct)
    {
        if (OriginOf(entry) is { } origin && _trustSnapshot.Current.Peers.TryGetValue(origin, out var originPeer))
        {
            using var channel = PeerChannelFactory.Create(_trustSnapshot, _nodeIdentity, originPeer);
            try
            {
                _ = await _directory.RefreshAsync(originPeer, new Contracts.V1.Federation.FederationClient(channel), ct).ConfigureAwait(false);
            }
            catch (RpcException)
            {
                // The origin is unreachable: decide on what is held.
            }
        }

        return await DropIfOriginKeyWithdrawnAsync(entry, ct).ConfigureAwait(false);
    }

    private static string? OriginOf(OutboxEntry entry)
    {
        try
        {
            return Bundle.Parser.ParseFrom(SignedBundle.Parser.ParseFrom(entry.EnvelopeBytes).Bundle).Origin;
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>Why a relayed bundle's signing key is known to be withdrawn by its origin, or null when it is not.</summary>
    private string? OriginKeyWithdrawn(OutboxEntry entry, out string bundleId)
    {
        bundleId = "";
        SignedBundle signed;
        Bundle bundle;
        try
        {
            signed = SignedBundle.Parser.ParseFrom(entry.EnvelopeBytes);
            bundle = Bundle.Parser.ParseFrom(signed.Bundle);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }

        bundleId = Convert.ToHexStringLower(bundle.BundleId.Span);
        if (bundle.Origin == _nodeIdentity.Current.IdText || !TrustBundleVerifier.IsValidTimestamp(bundle.CreatedAt)
            || _directory.Find(bundle.Origin) is not { } announced)
        {
            return null;
        }

        var createdAt = bundle.CreatedAt?.ToDateTimeOffset() ?? DateTimeOffset.MinValue;
        if (announced.IssuedAt <= createdAt)
        {
            return null;
        }

        var key = _directory.FindSigningKey(bundle.Origin, signed.SignerKeyId.Span);
        return key is not null && key.ValidAt(createdAt, SuiteNegotiation.Skew(_trustSnapshot))
            ? null
            : $"origin-key-withdrawn: {bundle.Origin} no longer announces signing key {Convert.ToHexStringLower(signed.SignerKeyId.Span)} " +
              $"for a bundle created at {createdAt:O} (announcement issued at {announced.IssuedAt:O}); only the origin can sign it again";
    }

    private Envelope Seal(OutboxEntry entry, byte[] payload, ContentPublicKey kemKey)
    {
        var header = new EnvelopeHeader
        {
            Version = 1,
            EnvelopeId = ByteString.CopyFrom(entry.EnvelopeId),
            Sender = _nodeIdentity.Current.IdText,
            Recipient = Peer.IdText,
            SentAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
            HopCount = (uint)entry.HopCount,
            PayloadKind = entry.Kind,
        };
        return BundleProtection.Seal(header, payload, kemKey);
    }

    /// <summary>
    /// Reads the peer's acks. An acked envelope leaves the window at once; its outbox deletion is enqueued without
    /// waiting for it (deletions of consecutive acks share one group commit; an entry whose deletion did not commit is
    /// re-sent after a reconnect and answered DUPLICATE). A retryable refusal keeps its envelope in the outbox and stops
    /// new sends; the acks of the envelopes still in flight are taken as they come, then the session ends.
    /// </summary>
    internal async Task ReadAcksAsync(IAsyncStreamReader<ExchangeResponse> responses, ConcurrentDictionary<string, OutboxEntry> inFlight, SemaphoreSlim acked,
        StrongBox<string?> refusal, CancellationToken ct, Action? accepted = null)
    {
        var deletions = new List<Task>();
        try
        {
            await foreach (var response in responses.ReadAllAsync(ct).ConfigureAwait(false))
            {
                accepted?.Invoke();
                await TakeAckAsync(response, inFlight, acked, refusal, deletions, ct).ConfigureAwait(false);
                for (var i = deletions.Count - 1; i >= 0; i--)
                {
                    if (deletions[i].IsCompleted)
                    {
                        // Throws if the deletion failed: the session ends as when it was awaited inline.
                        await deletions[i].ConfigureAwait(false);
                        deletions.RemoveAt(i);
                    }
                }

                if (Volatile.Read(ref refusal.Value) is { } refused && inFlight.IsEmpty)
                {
                    throw new InvalidOperationException(refused);
                }
            }
        }
        finally
        {
            foreach (var deletion in deletions)
            {
                try
                {
                    await deletion.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Not deleted: re-sent after reconnecting and answered DUPLICATE.
                }
            }
        }
    }

    private async Task TakeAckAsync(ExchangeResponse response, ConcurrentDictionary<string, OutboxEntry> inFlight, SemaphoreSlim acked,
        StrongBox<string?> refusal, List<Task> deletions, CancellationToken ct)
    {
        if (response.KindCase != ExchangeResponse.KindOneofCase.Ack)
        {
            return;
        }

        var ack = response.Ack;
        var id = Convert.ToHexStringLower(ack.EnvelopeId.Span);
        var reason = ack.Status == AckStatus.Rejected ? RejectReasons.Of(ack) : RejectReason.Unspecified;
        if (ack.Status == AckStatus.Rejected && RejectReasons.IsRetryLater(reason))
        {
            if (reason == RejectReason.OriginKeyUnknown && inFlight.TryGetValue(id, out var refused) && refused.HopCount > 0
                && refused.Kind == PayloadKind.Bundle
                && await RecheckRefusedRelayAsync(refused, ct).ConfigureAwait(false))
            {
                // The origin withdrew the key: the envelope was dropped and audited; the session goes on.
                inFlight.TryRemove(id, out _);
                acked.Release();
                return;
            }

            // Clock skew or keys that changed under us: keep the envelope, reconnect (which refreshes the
            // peer's keys) and re-send after the backoff instead of losing it. The acks behind it are still taken.
            _metrics.Error($"envelope {id} refused for now: {ack.Reason}");
            Interlocked.CompareExchange(ref refusal.Value, $"peer refused envelope {id} for a reason that may pass: {ack.Reason}", null);
            inFlight.TryRemove(id, out _);
            acked.Release();
            return;
        }

        if (!inFlight.TryRemove(id, out var entry))
        {
            return;
        }

        acked.Release();
        deletions.Add(CompleteAckAsync(entry, ack, id, ct));
    }

    /// <summary>
    /// Deletes an acknowledged envelope from the outbox; a delivered one is counted as sent in that same transaction
    /// (the counter survives a restart), then audited.
    /// </summary>
    private async Task CompleteAckAsync(OutboxEntry entry, Ack ack, string id, CancellationToken ct)
    {
        var delivered = ack.Status != AckStatus.Rejected;
        var removed = await _outboxStore.CompleteDeliveryAsync(Peer.IdText, entry.EnvelopeId, entry.IndicatorCount, delivered, ct).ConfigureAwait(false);
        _metrics.Acked(_time.GetUtcNow());
        if (ack.Status == AckStatus.Rejected)
        {
            Interlocked.Increment(ref _metrics.EnvelopesRejected);
            _metrics.Error($"envelope {id} rejected: {ack.Reason}");
            GatewayLog.PeerRejectedEnvelope(_logger, Peer.IdText, id, ack.Reason);
            _auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Rejected, Actor = Peer.IdText, Subject = "envelope:" + id, Decision = "rejected-by-peer", Reason = ack.Reason });
        }
        else
        {
            if (removed)
            {
                Interlocked.Increment(ref _metrics.EnvelopesSent);
                Interlocked.Add(ref _metrics.IndicatorsSent, entry.IndicatorCount);
            }

            _auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Delivered, Actor = Peer.IdText, Subject = "envelope:" + id, Decision = ack.Status == AckStatus.Duplicate ? "duplicate" : "delivered", Reason = ReceiptSummary(ack.Receipt) });
        }
    }

    private string ReceiptSummary(Receipt? receipt)
    {
        if (receipt is null)
        {
            return "no receipt";
        }

        var key = _directory.FindSigningKey(Peer.IdText, receipt.SignerKeyId.Span);
        var valid = key is not null && key.ValidAt(_time.GetUtcNow(), SuiteNegotiation.Skew(_trustSnapshot))
            && ContentSignatures.Verify(SignaturePurpose.Receipt, receipt.Body.Span, receipt.Signature.Span, key.Key);
        return valid ? "receipt signature verified" : "receipt signature NOT verified";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Abandon; nothing is lost, the outbox holds every unacknowledged envelope.
            }
        }

        _stop.Dispose();
        _wake.Dispose();
    }
}
