using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Identity;
using CyberCoop.Gateway.Outbound;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// Fetches peers' trust bundles (with the key announcements served beside them) into the <see cref="PeerKeyDirectory"/>
/// in the background, so that no receive waits on a call to a third node. It serves the fetches asked for with
/// <see cref="PeerKeyDirectory.RequestFetch"/> (a receive that found no key for an origin it pins as a peer answers
/// <c>origin-key-unknown</c>, retry later, and asks; a peer's hello announcing a newer bundle asks) and asks itself for
/// every peer a reload adds or re-addresses. Fetches of different peers run side by side; one peer is fetched at most
/// once at a time and, after a fetch, not again before <see cref="MinInterval"/> has passed, so a flood of misses costs
/// the origin one call per interval at most.
/// </summary>
internal sealed class PeerKeyFetcher(ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, PeerKeyDirectory directory, TimeProvider time,
    ILogger<PeerKeyFetcher> logger) : BackgroundService
{
    /// <summary>Shortest time between the end of one fetch of a peer and the start of the next.</summary>
    internal static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, DateTimeOffset> _lastFetch = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        trustSnapshot.Changed += OnTrustChanged;
        var running = new List<Task>();
        try
        {
            await foreach (var peerId in directory.FetchRequests.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                running.RemoveAll(t => t.IsCompleted);
                running.Add(FetchAsync(peerId, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            trustSnapshot.Changed -= OnTrustChanged;
            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    /// <summary>A reload added a peer or changed where or how it is reached: its keys are fetched again.</summary>
    private void OnTrustChanged(TrustState previous, TrustState next)
    {
        foreach (var peer in next.Peers.Values)
        {
            if (!previous.Peers.TryGetValue(peer.IdText, out var before) || !before.SameConnection(peer))
            {
                directory.RequestFetch(peer.IdText);
            }
        }
    }

    private async Task FetchAsync(string peerId, CancellationToken ct)
    {
        try
        {
            DateTimeOffset last;
            lock (_gate)
            {
                last = _lastFetch.GetValueOrDefault(peerId, DateTimeOffset.MinValue);
            }

            var wait = last == DateTimeOffset.MinValue ? TimeSpan.Zero : last + MinInterval - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, ct).ConfigureAwait(false);
            }

            // The peer as configured now: one removed meanwhile is not fetched.
            if (!trustSnapshot.Current.Peers.TryGetValue(peerId, out var peer))
            {
                return;
            }

            using var channel = PeerChannelFactory.Create(trustSnapshot, nodeIdentity, peer);
            var error = await directory.RefreshAsync(peer, new Contracts.V1.Federation.FederationClient(channel), ct).ConfigureAwait(false);
            if (error is null)
            {
                GatewayLog.PeerKeysFetched(logger, peerId);
            }
            else
            {
                GatewayLog.PeerKeyFetchFailed(logger, peerId, error);
            }
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // Stopping (gRPC reports the cancelled call as an RpcException).
        }
        catch (RpcException ex)
        {
            GatewayLog.PeerKeyFetchFailed(logger, peerId, $"{ex.StatusCode}: {ex.Status.Detail}");
        }
#pragma warning disable CA1031 // A fetch that fails for any reason is logged; the next miss asks again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            GatewayLog.PeerKeyFetchFailed(logger, peerId, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                _lastFetch[peerId] = time.GetUtcNow();
            }

            directory.FetchFinished(peerId);
        }
    }
}
