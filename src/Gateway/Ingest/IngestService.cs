using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Ingest;

/// <summary>
/// The agents' entry point. Each batch is validated item by item (one bad item never fails its
/// batch), committed in one transaction, and answered only after the commit; a batch re-sent with
/// the same id is answered from its first commit and stored once. Several batches of one stream are in flight at once
/// (<see cref="OrderedStreamPipeline"/>): batch n+1 is validated while batch n commits, commits are enqueued and results
/// written in batch order, each result only after its own commit.
/// </summary>
internal sealed class IngestService(
    IIngestStore ingestStore,
    ITrustSnapshot trustSnapshot,
    INodeIdentitySource nodeIdentity,
    TimeProvider time,
    NodeMetrics metrics,
    CallerActivity callerActivity,
    CallerAuthorization authorization,
    LiveStreamRegistry streams,
    CallerLimits limits,
    OutboundDispatcher dispatcher,
    TrustBundlePublisher publisher,
    IHostApplicationLifetime lifetime,
    ILogger<IngestService> logger) : Contracts.V1.Ingest.IngestBase
{
    /// <summary>Most sightings accepted in one batch.</summary>
    public const int MaxBatchItems = 5_000;

    /// <summary>Longest batch id accepted.</summary>
    public const int MaxBatchIdBytes = 64;

    /// <summary>
    /// Batches of one stream in flight at once: while one waits for its commit, the next are read and validated.
    /// </summary>
    internal const int PipelineDepth = 8;

    public override async Task Submit(IAsyncStreamReader<IngestBatch> requestStream, IServerStreamWriter<IngestResult> responseStream, ServerCallContext context)
    {
        var agent = authorization.RequireAgent(context);
        var agentId = agent.ToString();
        // One certificate cannot take the node from the others: its streams and sightings/s are limited (node.limits).
        using var quota = limits.OpenStream(agentId, LiveCallerKind.Agent, context.Method);
        // Cut with PermissionDenied if the agent's certificate is revoked while the stream is open: nothing is answered
        // after the cut (batches already enqueued may still commit; their re-send is answered from that commit).
        using var live = streams.Register(context, agent, LiveCallerKind.Agent);
        // End the stream when the node shuts down: every batch already answered was committed first.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var ct = stopping.Token;
        var validator = new SightingValidator(time, Lifecycle.ExpiryPolicy.DefaultLifetimes(trustSnapshot.Current.Config.Config.Node.Expiry));
        try
        {
            await OrderedStreamPipeline.RunAsync(live.Guard(requestStream), responseStream, live, PipelineDepth,
                (batch, turn, token) => Start(agent, agentId, validator, batch, turn, token), ct,
                (batch, token) => batch.Sightings.Count > MaxBatchItems
                    ? ValueTask.CompletedTask // refused by Start
                    : limits.AdmitAsync(agentId, LiveCallerKind.Agent, batch.Sightings.Count, context.Method, token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Graceful shutdown: the agent re-sends anything unanswered after reconnecting.
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.ResourceExhausted)
        {
            callerActivity.Failed(agentId, Storage.CallerKinds.Agent, $"{ex.StatusCode}: {ex.Status.Detail}");
            throw;
        }
    }

    /// <summary>
    /// The domain's signed trust bundle for an agent of the own domain, so it follows a root rotation (it verifies the
    /// bundle against the roots it already trusts). The sequence the agent says it holds is recorded for <c>status</c>.
    /// </summary>
    public override Task<SignedTrustBundle> GetTrustBundle(GetTrustBundleRequest request, ServerCallContext context)
    {
        var agent = authorization.RequireAgent(context);
        var served = publisher.Current;
        callerActivity.BundleFetched(agent.ToString(), Storage.CallerKinds.Agent, request.KnownSequence);
        return Task.FromResult(served);
    }

    /// <summary>
    /// Called in arrival order on the reading thread: a malformed batch ends the stream (after the batches before it
    /// were answered); a well-formed one is validated and committed on the thread pool.
    /// </summary>
    private Task<IngestResult?> Start(Crypto.SpiffeId agent, string agentId, SightingValidator validator, IngestBatch batch, CommitTurn turn, CancellationToken ct)
    {
        if (batch.BatchId.Length is 0 or > MaxBatchIdBytes)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"batch_id: must be 1-{MaxBatchIdBytes} bytes (was {batch.BatchId.Length})"));
        }

        if (batch.Sightings.Count > MaxBatchItems)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"sightings: at most {MaxBatchItems} per batch (was {batch.Sightings.Count}); split the batch"));
        }

        return Task.Run(() => CommitAsync(agent, agentId, validator, batch, turn, ct), ct);
    }

    private async Task<IngestResult?> CommitAsync(Crypto.SpiffeId agent, string agentId, SightingValidator validator, IngestBatch batch, CommitTurn turn, CancellationToken ct)
    {
        var items = new ValidationOutcome[batch.Sightings.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = validator.Validate(batch.Sightings[i], nodeIdentity.Current.IdText, agent.Name);
        }

        // Enqueue in arrival order: a re-sent batch id is then always answered from its first commit.
        var pending = await turn.EnqueueAsync(() => ingestStore.CommitIngestAsync(agentId, batch.BatchId.Memory, items, ct)).ConfigureAwait(false);
        var commit = await pending.ConfigureAwait(false);
        var result = new IngestResult { BatchId = batch.BatchId, Duplicate = commit.Duplicate };
        result.Items.Add(commit.Results);
        int accepted = 0, merged = 0, rejected = 0;
        foreach (var item in commit.Results)
        {
            switch (item.Outcome)
            {
                case ItemOutcome.Accepted: accepted++; break;
                case ItemOutcome.Merged: merged++; break;
                default: rejected++; break;
            }
        }

        if (!commit.Duplicate)
        {
            var firstRejection = commit.Results.FirstOrDefault(r => r.Outcome == ItemOutcome.Rejected) is { } first
                ? $"sighting {first.Index} rejected: {first.Reason}"
                : null;
            callerActivity.BatchCommitted(agentId, accepted + merged, rejected, firstRejection);
            metrics.AddIngested(accepted + merged, rejected);
            dispatcher.Notify();
        }

        GatewayLog.IngestBatch(logger, agentId, accepted, merged, rejected, commit.Duplicate ? " (re-sent batch, answered from first commit)" : "");
        return result;
    }
}
