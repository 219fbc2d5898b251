using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Outbound;

/// <summary>
/// Runs one <see cref="PeerForwarder"/> per configured peer. On a config reload only the peers
/// that were added, removed or whose connection settings (address, pin, suite) changed are
/// restarted; every other stream keeps flowing. A restarted peer's new forwarder starts once the
/// old one has stopped, so two forwarders never send the same outbox entries to one peer.
/// </summary>
internal sealed class ForwarderManager(
    ITrustSnapshot trustSnapshot,
    IOutboxSignal outboxSignal,
    PeerForwarderFactory forwarders) : IHostedService, IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PeerForwarder> _forwarders = new(StringComparer.Ordinal);

    // Peers whose old forwarder is stopping; the new one is started when it has stopped (see ReplaceAsync).
    private readonly Dictionary<string, Task> _replacing = new(StringComparer.Ordinal);
    private bool _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        trustSnapshot.Changed += OnTrustChanged;
        outboxSignal.OutboxChanged += WakeAll;
        lock (_gate)
        {
            foreach (var peer in trustSnapshot.Current.Peers.Values)
            {
                StartLocked(peer);
            }
        }

        return Task.CompletedTask;
    }

    private void StartLocked(PeerSettings peer)
    {
        var forwarder = forwarders.Create(peer);
        _forwarders[peer.IdText] = forwarder;
        forwarder.Start();
    }

    private void WakeAll()
    {
        lock (_gate)
        {
            foreach (var forwarder in _forwarders.Values)
            {
                forwarder.Wake();
            }
        }
    }

    private void OnTrustChanged(TrustState previous, TrustState next)
    {
        var stopping = new List<PeerForwarder>();
        PeerForwarder[] kept;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            foreach (var (id, forwarder) in _forwarders.ToArray())
            {
                if (!next.Peers.TryGetValue(id, out var settings))
                {
                    _forwarders.Remove(id);
                    stopping.Add(forwarder);
                }
                else if (!settings.SameConnection(forwarder.Peer))
                {
                    _forwarders.Remove(id);
                    _replacing[id] = ReplaceAsync(id, forwarder);
                }
            }

            foreach (var peer in next.Peers.Values)
            {
                if (!_forwarders.ContainsKey(peer.IdText) && !_replacing.ContainsKey(peer.IdText))
                {
                    StartLocked(peer);
                }
            }

            kept = [.. _forwarders.Values];
        }

        // Kept peers whose server certificate is now revoked lose their open stream at once.
        foreach (var forwarder in kept)
        {
            forwarder.CheckServerCertificate(next);
        }

        foreach (var forwarder in stopping)
        {
            _ = forwarder.DisposeAsync().AsTask();
        }
    }

    /// <summary>
    /// Stops <paramref name="old"/> and then starts the peer's forwarder with the settings current at that moment (unless
    /// the peer was removed or the manager stopped meanwhile).
    /// </summary>
    private async Task ReplaceAsync(string id, PeerForwarder old)
    {
        // Yield first: the caller holds the lock and records this task before it can complete.
        await Task.Yield();
        try
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _replacing.Remove(id);
                if (!_stopped && !_forwarders.ContainsKey(id) && trustSnapshot.Current.Peers.TryGetValue(id, out var current))
                {
                    StartLocked(current);
                }
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        trustSnapshot.Changed -= OnTrustChanged;
        outboxSignal.OutboxChanged -= WakeAll;
        PeerForwarder[] all;
        Task[] replacing;
        lock (_gate)
        {
            _stopped = true;
            all = [.. _forwarders.Values];
            _forwarders.Clear();
            replacing = [.. _replacing.Values];
        }

        await Task.WhenAll(all.Select(f => f.DisposeAsync().AsTask()).Concat(replacing)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);
}
