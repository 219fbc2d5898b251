using System.Collections.Immutable;
using CyberCoop.Gateway.Hosting;
using Google.Protobuf;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// Holds the node's trust snapshot in force and the peer bundles it was built with. Two writers replace it: the
/// config reload (<see cref="ConfigReloader"/>) and the acceptance of a newer peer bundle; both swap under one gate, so
/// neither loses the other's change.
/// </summary>
internal sealed class TrustHolder(NodeStartState start, ITrustBundleStore store, TimeProvider time) : ITrustSnapshot, IDisposable
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _acceptGate = new(1, 1);
    private ImmutableDictionary<string, HeldTrustBundle> _held = start.HeldBundles.ToImmutableDictionary(StringComparer.Ordinal);
    private volatile TrustState _current = start.Trust;

    /// <inheritdoc />
    public TrustState Current => _current;

    /// <inheritdoc />
    public event Action<TrustState, TrustState>? Changed;

    /// <summary>
    /// Builds the next snapshot from the held peer bundles with <paramref name="build"/> and puts it in force, all under
    /// the gate (so an accepted peer bundle is not lost); <paramref name="build"/> throws to refuse, and may put matching
    /// state (the identity) in force before it returns. <see cref="Changed"/> is raised by <see cref="Publish"/>.
    /// </summary>
    internal (TrustState Previous, TrustState Next) Replace(Func<IReadOnlyDictionary<string, HeldTrustBundle>, TrustState> build)
    {
        lock (_gate)
        {
            var next = build(_held);
            var previous = _current;
            _current = next;
            return (previous, next);
        }
    }

    /// <summary>Raises <see cref="Changed"/> for a replacement made by <see cref="Replace"/>.</summary>
    internal void Publish(TrustState previous, TrustState next) => Changed?.Invoke(previous, next);

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
            if (_current.PeerBundles.TryGetValue(domain, out var current) && current.Bundle.Sequence >= held.Bundle.Sequence)
            {
                return false;
            }

            // Stored without the key announcements served beside it: those are re-fetched and re-verified.
            var stored = new Contracts.V1.SignedTrustBundle { Bundle = held.Bundle.Signed.Bundle };
            stored.Signatures.Add(held.Bundle.Signed.Signatures);
            await store.SaveTrustBundleAsync(
                new StoredTrustBundle(domain, held.AnchorPin, held.Bundle.Sequence, stored.ToByteArray(), held.AcceptedAt), ct).ConfigureAwait(false);
            TrustState previous;
            TrustState next;
            lock (_gate)
            {
                var all = _held.SetItem(domain, held);
                previous = _current;
                next = previous.WithPeerBundles(all, time);
                _held = all;
                _current = next;
            }

            Publish(previous, next);
            return true;
        }
        finally
        {
            _acceptGate.Release();
        }
    }

    public void Dispose() => _acceptGate.Dispose();
}
