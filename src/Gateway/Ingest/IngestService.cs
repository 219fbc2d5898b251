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
/// the same id is answered from its first commit and stored once.
/// </summary>
internal sealed class IngestService(
    GatewayRuntime runtime,
    CallerAuthorization authorization,
    LiveStreamRegistry streams,
    OutboundDispatcher dispatcher,
    IHostApplicationLifetime lifetime,
    ILogger<IngestService> logger) : Contracts.V1.Ingest.IngestBase
{
    /// <summary>Most sightings accepted in one batch.</summary>
    public const int MaxBatchItems = 5_000;

    /// <summary>Longest batch id accepted.</summary>
    public const int MaxBatchIdBytes = 64;

    public override async Task Submit(IAsyncStreamReader<IngestBatch> requestStream, IServerStreamWriter<IngestResult> responseStream, ServerCallContext context)
    {
        var agent = authorization.RequireAgent(context);
        // Cut with PermissionDenied, between batches, if the agent's certificate is revoked while the stream is open.
        using var live = streams.Register(context, agent, LiveCallerKind.Agent);
        // End the stream when the node shuts down: every batch already answered was committed first.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var ct = stopping.Token;
        try
        {
            await ServeAsync(agent, live.Guard(requestStream), responseStream, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Graceful shutdown: the agent re-sends anything unanswered after reconnecting.
        }
    }

    private async Task ServeAsync(Crypto.SpiffeId agent, IAsyncStreamReader<IngestBatch> requestStream, IServerStreamWriter<IngestResult> responseStream, CancellationToken ct)
    {
        var agentId = agent.ToString();
        var validator = new SightingValidator(runtime.Time);
        await foreach (var batch in requestStream.ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (batch.BatchId.Length is 0 or > MaxBatchIdBytes)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"batch_id: must be 1-{MaxBatchIdBytes} bytes (was {batch.BatchId.Length})"));
            }

            if (batch.Sightings.Count > MaxBatchItems)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"sightings: at most {MaxBatchItems} per batch (was {batch.Sightings.Count}); split the batch"));
            }

            var items = new ValidationOutcome[batch.Sightings.Count];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = validator.Validate(batch.Sightings[i], runtime.Identity.IdText, agent.Name);
            }

            var commit = await runtime.Store.CommitIngestAsync(agentId, batch.BatchId.Memory, items, ct).ConfigureAwait(false);
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
                runtime.Metrics.AddIngested(accepted + merged, rejected);
                dispatcher.Notify();
            }

            GatewayLog.IngestBatch(logger, agentId, accepted, merged, rejected, commit.Duplicate ? " (re-sent batch, answered from first commit)" : "");
            await responseStream.WriteAsync(result, ct).ConfigureAwait(false);
        }
    }
}
