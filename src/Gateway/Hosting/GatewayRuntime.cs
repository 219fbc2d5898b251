using System.Collections.Immutable;
using System.Threading.Channels;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// The running node's shared state: identity, the current trust snapshot, storage, metrics and the
/// audit sink for decisions made outside a storage transaction (denied calls, rejected TLS clients).
/// </summary>
internal sealed class GatewayRuntime : ITrustSnapshot, INodeIdentitySource, IAuditSink, IOutboxSignal, IAsyncDisposable
{
    /// <summary>First and longest wait before the audit writer retries a batch the database refused.</summary>
    private static readonly TimeSpan s_auditRetryFirst = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_auditRetryMax = TimeSpan.FromSeconds(5);

    // Unbounded: an entry is never dropped for want of room. Producers are refusals of callers (each costs the caller a TLS
    // handshake or a call, far more than an append) and the writer appends up to 500 per transaction, so the queue stays short.
    private readonly Channel<AuditEntry> _audit = Channel.CreateUnbounded<AuditEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly Task _auditWriter;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _trustGate = new();
    private readonly SemaphoreSlim _acceptGate = new(1, 1);
    private ImmutableDictionary<string, HeldTrustBundle> _held;
    private volatile TrustState _trust;
    private volatile NodeIdentity _identity;
    private long _auditDropped;
    private long _auditPending;

    public GatewayRuntime(LoadedConfig config, NodeIdentity identity, TrustState trust, IReadOnlyDictionary<string, HeldTrustBundle> heldBundles,
        GatewayStore store, TimeProvider time, ILogger<GatewayRuntime> logger)
    {
        _identity = identity;
        _trust = trust;
        _held = heldBundles.ToImmutableDictionary(StringComparer.Ordinal);
        Store = store;
        Time = time;
        Metrics = new NodeMetrics(time);
        Activity = new CallerActivity(store, time, logger);
        _logger = logger;
        ConfigPath = config.Path;
        _auditWriter = Task.Run(WriteAuditAsync);
    }

    /// <summary>The config file this node runs from.</summary>
    public string ConfigPath { get; }

    /// <summary>This node's identity (replaced when a reload finds a renewed certificate or rotated keys).</summary>
    public NodeIdentity Identity => _identity;

    /// <summary>The current trust snapshot (replaced on reload).</summary>
    public TrustState Trust => _trust;

    TrustState ITrustSnapshot.Current => _trust;

    NodeIdentity INodeIdentitySource.Current => _identity;

    event Action<TrustState, TrustState>? ITrustSnapshot.Changed
    {
        add => TrustChanged += value;
        remove => TrustChanged -= value;
    }

    /// <summary>The node's database.</summary>
    public GatewayStore Store { get; }

    /// <summary>Clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>Counters.</summary>
    public NodeMetrics Metrics { get; }

    /// <summary>Per-caller activity (agents and peers): last seen, counters, last error, bundle sequence held.</summary>
    public CallerActivity Activity { get; }

    /// <summary>Raised after a new trust snapshot is in place.</summary>
    public event Action<TrustState, TrustState>? TrustChanged;

    /// <summary>Raised when new envelopes wait in the outbox (forwarders wake up).</summary>
    public event Action? OutboxChanged;

    /// <summary>Wakes the forwarders after envelopes were written to the outbox.</summary>
    public void NotifyOutbox() => OutboxChanged?.Invoke();

    /// <summary>
    /// Audit entries still queued when the node stopped and the writer could not finish within the stop grace (counted and
    /// logged, never silently). While the node runs an entry is never dropped: a batch the database refuses is retried.
    /// </summary>
    public long AuditDropped => Interlocked.Read(ref _auditDropped);

    /// <summary>Audit entries queued and not yet written.</summary>
    public long AuditPending => Interlocked.Read(ref _auditPending);

    /// <summary>
    /// Queues an audit entry to be written soon (used outside storage transactions). An entry that could never be written
    /// (unknown kind, missing field) is a defect of the caller and throws here, at its source, instead of failing a batch later.
    /// </summary>
    public void AuditLater(AuditEntry entry)
    {
        if (AuditLog.Problem(entry) is { } problem)
        {
            throw new ArgumentException("audit entry cannot be written: " + problem, nameof(entry));
        }

        Interlocked.Increment(ref _auditPending);
        if (!_audit.Writer.TryWrite(entry))
        {
            // Only after the writer was completed at stop.
            Interlocked.Decrement(ref _auditPending);
            Interlocked.Increment(ref _auditDropped);
        }
    }

    /// <summary>
    /// Counts and audits a refused caller: a TLS client whose chain failed (<paramref name="subject"/>
    /// "tls") or a call refused by authorization (the gRPC method). The caller logs it with its own message.
    /// </summary>
    public void RecordDenial(string caller, string subject, string reason)
    {
        Metrics.AddDenied();
        if (Activity.Rows.TryGetValue(caller, out var known))
        {
            Activity.Failed(caller, known.Kind, $"denied {subject}: {reason}");
        }

        AuditLater(new AuditEntry { Kind = AuditKinds.Denied, Actor = caller, Subject = subject, Decision = "denied", Reason = reason });
    }

    /// <summary>
    /// Re-reads the config file and the own trust bundle and swaps in the new trust snapshot; an invalid file, an
    /// own bundle older than the one in use, or a change under which the node's own certificate would no longer be
    /// trusted is refused as a whole and the running config kept. Returns (applied, messages).
    /// </summary>
    public (bool Applied, IReadOnlyList<string> Messages) Reload()
    {
        TrustState next;
        TrustState previous;
        var identityChanged = false;
        try
        {
            var loaded = GatewayConfigFile.Load(ConfigPath);
            var node = loaded.Config.Node;
            var current = _trust.Config.Config.Node;
            var fixedFields = new List<string>();
            if (node.TrustDomain != current.TrustDomain || node.Name != current.Name)
            {
                fixedFields.Add("node.trustDomain/node.name: the node's identity cannot change while it runs; restart instead");
            }

            if (node.Listen != current.Listen || node.Storage != current.Storage || node.AdminSocket != current.AdminSocket
                || node.MetricsListen != current.MetricsListen)
            {
                fixedFields.Add("node.listen/node.storage/node.adminSocket/node.metricsListen: these apply only at start; restart instead");
            }

            if (fixedFields.Count > 0)
            {
                throw new GatewayConfigException(ConfigPath, fixedFields);
            }

            var own = OwnTrustBundle.Load(loaded, Time);
            var serving = _trust.OwnBundle;
            if (own.Sequence < serving.Sequence || (own.Sequence == serving.Sequence && !own.SameSignedPart(serving)))
            {
                throw new GatewayConfigException(ConfigPath,
                    [$"node.trustBundle: sequence {own.Sequence} is not newer than the bundle in use (sequence {serving.Sequence}); peers would ignore it — re-sign it with 'certs bundle sign'"]);
            }

            var identity = _identity;
            if (NodeIdentity.ComputeFingerprint(loaded) != identity.Fingerprint)
            {
                // Renewed TLS certificate or rotated content keys: new connections use the certificate at once; content
                // keys are chosen by time at each use (pending keys from their not-before), and retired KEM keys keep
                // opening envelopes that peers sealed before they switched, until their grace ends.
                identity = NodeIdentity.Load(loaded, Time);
                identityChanged = true;
            }

            try
            {
                lock (_trustGate)
                {
                    next = TrustState.Create(loaded, own, _held, Time);
                    var self = next.Validator.Validate(identity.Certificate, null, CyberCoop.Crypto.CertificatePurpose.Server);
                    if (!self.IsValid)
                    {
                        throw new GatewayConfigException(ConfigPath,
                            [$"node.trustBundle: the node's own certificate would no longer be trusted under this bundle ({self.Reason}); issue it from a root the bundle lists first"]);
                    }

                    previous = _trust;
                    _identity = identity;
                    _trust = next;
                }
            }
            catch when (identityChanged)
            {
                // The reload is refused as a whole: the identity loaded for it is not used, so its keys are cleared now.
                identity.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is CyberCoop.Crypto.CryptoFormatException or IOException or System.Security.Cryptography.CryptographicException)
        {
            var error = "node identity: " + ex.Message;
            GatewayLog.ConfigReloadRefused(_logger, error);
            AuditLater(new AuditEntry { Kind = AuditKinds.Config, Actor = "operator", Subject = ConfigPath, Decision = "refused", Reason = error });
            return (false, [error]);
        }
        catch (GatewayConfigException ex)
        {
            GatewayLog.ConfigReloadRefused(_logger, string.Join("; ", ex.Errors));
            AuditLater(new AuditEntry { Kind = AuditKinds.Config, Actor = "operator", Subject = ConfigPath, Decision = "refused", Reason = string.Join("; ", ex.Errors) });
            return (false, ex.Errors);
        }

        var summary = Summarize(previous, next) + (identityChanged ? "; identity reloaded (certificate or content keys changed)" : "")
            + (identityChanged && _identity.PendingActivation() is { } activation ? $"; new content keys announced, active at {activation:u}" : "");
        GatewayLog.ConfigReloaded(_logger, summary);
        AuditLater(new AuditEntry { Kind = AuditKinds.Config, Actor = "operator", Subject = ConfigPath, Decision = "applied", Reason = summary });
        TrustChanged?.Invoke(previous, next);
        return (true, [summary]);
    }

    /// <summary>
    /// Makes <paramref name="held"/> the bundle of its domain: persisted first (so a restart after the peer dropped
    /// an old root still works), then the trust snapshot is rebuilt with its roots and revocations. A bundle not
    /// newer than the one held under the same chain of trust is ignored; returns whether it was applied.
    /// </summary>
    public async Task<bool> AcceptPeerBundleAsync(HeldTrustBundle held, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(held);
        var domain = held.Bundle.TrustDomain;
        await _acceptGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_trust.PeerBundles.TryGetValue(domain, out var current) && current.Bundle.Sequence >= held.Bundle.Sequence)
            {
                return false;
            }

            // Stored without the key announcements served beside it: those are re-fetched and re-verified.
            var stored = new Contracts.V1.SignedTrustBundle { Bundle = held.Bundle.Signed.Bundle };
            stored.Signatures.Add(held.Bundle.Signed.Signatures);
            await Store.SaveTrustBundleAsync(
                new StoredTrustBundle(domain, held.AnchorPin, held.Bundle.Sequence, stored.ToByteArray(), held.AcceptedAt), ct).ConfigureAwait(false);
            TrustState previous;
            TrustState next;
            lock (_trustGate)
            {
                var all = _held.SetItem(domain, held);
                previous = _trust;
                next = previous.WithPeerBundles(all, Time);
                _held = all;
                _trust = next;
            }

            TrustChanged?.Invoke(previous, next);
            return true;
        }
        finally
        {
            _acceptGate.Release();
        }
    }

    private static string Summarize(TrustState previous, TrustState next)
    {
        var added = next.Peers.Keys.Except(previous.Peers.Keys).ToList();
        var removed = previous.Peers.Keys.Except(next.Peers.Keys).ToList();
        var changed = next.Peers.Where(p => previous.Peers.TryGetValue(p.Key, out var old) && old != p.Value).Select(p => p.Key).ToList();
        return $"{next.Peers.Count} peers; added [{string.Join(", ", added)}]; removed [{string.Join(", ", removed)}]; changed [{string.Join(", ", changed)}]";
    }

    private async Task WriteAuditAsync()
    {
        var batch = new List<AuditEntry>();
        try
        {
            while (await _audit.Reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (batch.Count < 500 && _audit.Reader.TryRead(out var entry))
                {
                    batch.Add(entry);
                }

                await AppendUntilWrittenAsync(batch).ConfigureAwait(false);
                Interlocked.Add(ref _auditPending, -batch.Count);
                batch.Clear();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped before the queue was empty: what is left is counted (and logged at stop), not written.
            var left = batch.Count;
            while (_audit.Reader.TryRead(out _))
            {
                left++;
            }

            Interlocked.Add(ref _auditDropped, left);
            Interlocked.Add(ref _auditPending, -left);
        }
    }

    /// <summary>Appends one batch, retrying with a growing pause while the database refuses it (busy, full, read-only).</summary>
    private async Task AppendUntilWrittenAsync(List<AuditEntry> batch)
    {
        var pause = s_auditRetryFirst;
        while (true)
        {
            try
            {
                await Store.Audit.AppendAsync(batch, _stopping.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or IOException)
            {
                GatewayLog.AuditWriteFailed(_logger, batch.Count, pause, ex);
                await Task.Delay(pause, Time, _stopping.Token).ConfigureAwait(false);
                pause = pause * 2 < s_auditRetryMax ? pause * 2 : s_auditRetryMax;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _audit.Writer.TryComplete();
        try
        {
            await _auditWriter.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _auditWriter.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            GatewayLog.AuditUnwrittenAtStop(_logger, AuditDropped);
        }

        _stopping.Dispose();
        _acceptGate.Dispose();
        await Store.DisposeAsync().ConfigureAwait(false);
        _identity.Dispose();
    }
}
