using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Outbound;

/// <summary>
/// Runs one <see cref="PeerForwarder"/> per configured peer. On a config reload only the peers
/// that were added, removed or whose connection settings (address, pin, suite) changed are
/// restarted; every other stream keeps flowing.
/// </summary>
internal sealed class ForwarderManager(
    ITrustSnapshot trustSnapshot,
    IOutboxSignal outboxSignal,
    PeerForwarderFactory forwarders) : IHostedService, IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PeerForwarder> _forwarders = new(StringComparer.Ordinal);

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
            foreach (var (id, forwarder) in _forwarders.ToArray())
            {
                if (!next.Peers.TryGetValue(id, out var settings) || !settings.SameConnection(forwarder.Peer))
                {
                    _forwarders.Remove(id);
                    stopping.Add(forwarder);
                }
            }

            foreach (var peer in next.Peers.Values)
            {
                if (!_forwarders.ContainsKey(peer.IdText))
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

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        trustSnapshot.Changed -= OnTrustChanged;
        outboxSignal.OutboxChanged -= WakeAll;
        PeerForwarder[] all;
        lock (_gate)
        {
            all = [.. _forwarders.Values];
            _forwarders.Clear();
        }

        await Task.WhenAll(all.Select(f => f.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);
}
