using CyberCoop.Agent.Pipeline;
using CyberCoop.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Delivery;

/// <summary>
/// Keeps the agent's trust in step with its domain: checks the gateway at start (one Ingest.GetTrustBundle call, so a
/// wrong address, an unreachable gateway or a certificate the agent refuses is reported at once, with the reason, even
/// while the sensor is quiet), fetches the bundle again every refresh hint, and, when the gateway presents a certificate
/// of a root the agent does not trust yet, fetches the bundle over a connection used for nothing else and accepts it
/// only when a root it already trusts signed it (<see cref="AgentTrust.Offer"/>).
/// </summary>
internal sealed class TrustBundleFollower(
    Ingest.IngestClient client,
    Func<GrpcChannel> bundleOnlyChannel,
    AgentTrust trust,
    string gateway,
    TimeProvider time,
    ILogger logger)
{
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(15);
    private readonly SemaphoreSlim _fetching = new(1, 1);

    /// <summary>Outcome of the start check: null when the gateway answered and its bundle was usable, else why not.</summary>
    public string? StartProblem { get; private set; }

    /// <summary>Whether the start check has finished.</summary>
    public bool StartChecked { get; private set; }

    /// <summary>Start check, then a refresh every refresh interval, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        StartProblem = await CheckAsync(cancellationToken).ConfigureAwait(false);
        StartChecked = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(trust.RefreshInterval, time, cancellationToken).ConfigureAwait(false);
                var (_, error) = await FetchAsync(client, cancellationToken).ConfigureAwait(false);
                if (error is not null && !await TryFollowRotationAsync(cancellationToken).ConfigureAwait(false))
                {
                    AgentLog.TrustBundleFetchFailed(logger, gateway, error);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// After a failed call: when the gateway's certificate chained to a root not trusted yet, fetches the bundle over a
    /// bundle-only connection and offers it. True when a newer bundle was accepted (the caller retries at once).
    /// </summary>
    public async Task<bool> TryFollowRotationAsync(CancellationToken cancellationToken)
    {
        if (!trust.TakeUntrustedRootRejection())
        {
            return false;
        }

        AgentLog.FollowingRotation(logger, gateway);
        var before = trust.HeldSequence;
        using var channel = bundleOnlyChannel();
        var (_, error) = await FetchAsync(new Ingest.IngestClient(channel), cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            AgentLog.TrustBundleFetchFailed(logger, gateway, error);
        }

        return trust.HeldSequence > before;
    }

    private async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (served, error) = await FetchAsync(client, cancellationToken).ConfigureAwait(false);
            if (error is not null && await TryFollowRotationAsync(cancellationToken).ConfigureAwait(false))
            {
                (served, error) = await FetchAsync(client, cancellationToken).ConfigureAwait(false);
            }

            if (error is not null)
            {
                AgentLog.GatewayUnreachable(logger, gateway, error);
                return error;
            }

            AgentLog.GatewayReachable(logger, gateway, trust.LastGatewayId ?? "?", served, string.Join(", ", trust.RootPins));
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return "stopped";
        }
    }

    /// <summary>One GetTrustBundle call; the sequence served, or why it failed or was refused.</summary>
    private async Task<(ulong Served, string? Error)> FetchAsync(Ingest.IngestClient target, CancellationToken cancellationToken)
    {
        await _fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var request = new GetTrustBundleRequest { KnownSequence = trust.HeldSequence };
            var signed = await target.GetTrustBundleAsync(request, deadline: time.GetUtcNow().UtcDateTime + s_callTimeout, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            var before = trust.HeldSequence;
            var refused = trust.Offer(signed, gateway);
            if (refused is null && trust.HeldSequence > before)
            {
                // Tell the gateway at once which sequence is held now (its status shows it per agent), instead of at the
                // next refresh; the answer is the bundle just accepted.
                request = new GetTrustBundleRequest { KnownSequence = trust.HeldSequence };
                trust.Offer(await target.GetTrustBundleAsync(request, deadline: time.GetUtcNow().UtcDateTime + s_callTimeout, cancellationToken: cancellationToken)
                    .ConfigureAwait(false), gateway);
            }

            return (trust.HeldSequence, refused is null ? null : "its trust bundle was refused: " + refused);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            return (0, null); // a gateway from before Ingest.GetTrustBundle: reachable, but it cannot tell of a rotation
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return (0, GatewayDelivery.Describe(ex, trust));
        }
        catch (RpcException ex)
        {
            // The agent is stopping: gRPC reports the cancelled call as Cancelled, which the callers' stop handling
            // (OperationCanceledException) must see as the stop it is, not as an error that ends the run.
            throw new OperationCanceledException("stopped during a GetTrustBundle call", ex, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (0, $"cannot keep the trust bundle in '{trust.HeldPath}': {ex.Message}");
        }
        finally
        {
            _fetching.Release();
        }
    }
}
