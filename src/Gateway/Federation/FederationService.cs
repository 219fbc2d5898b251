using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Hosting;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace CyberCoop.Gateway.Federation;

/// <summary>
/// The peers' entry point. Exchange answers every envelope with exactly one Ack, sent only after the
/// envelope was committed or finally rejected; GetTrustBundle serves this domain's signed bundle.
/// Only configured peer gateways get past <see cref="CallerAuthorization.RequirePeer"/>.
/// </summary>
internal sealed class FederationService(
    ITrustSnapshot trustSnapshot,
    NodeMetrics metrics,
    CallerActivity callerActivity,
    CallerAuthorization authorization,
    LiveStreamRegistry streams,
    CallerLimits limits,
    EnvelopeReceiver receiver,
    TrustBundlePublisher publisher,
    PeerKeyDirectory directory,
    IHostApplicationLifetime lifetime) : Contracts.V1.Federation.FederationBase
{
    /// <summary>
    /// Envelopes of one stream in flight at once: while one waits for its commit, the next are read, opened and
    /// verified (each ~300 KB at 1,000 indicators per bundle, so a few MB per stream).
    /// </summary>
    internal const int PipelineDepth = 8;

    public override async Task Exchange(IAsyncStreamReader<ExchangeRequest> requestStream, IServerStreamWriter<ExchangeResponse> responseStream, ServerCallContext context)
    {
        var peer = authorization.RequirePeer(context);
        // One peer cannot take the node from the others: its streams and envelopes/s are limited (node.limits).
        using var quota = limits.OpenStream(peer.IdText, LiveCallerKind.Peer, context.Method);
        var peerId = peer.IdText;
        // Cut with PermissionDenied if the peer is removed or its certificate revoked while the stream is open: nothing
        // is answered after the cut (envelopes already enqueued may still commit; the re-send is answered DUPLICATE).
        using var live = streams.Register(context, peer.Id, LiveCallerKind.Peer);
        // End the stream when the node shuts down: every envelope already answered was committed first.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var ct = stopping.Token;
        var helloReceived = false;
        try
        {
            await OrderedStreamPipeline.RunAsync(live.Guard(requestStream), responseStream, live, PipelineDepth,
                (request, turn, token) => Start(ref peer, ref helloReceived, request, turn, token), ct,
                (request, token) => request.KindCase == ExchangeRequest.KindOneofCase.Envelope
                    ? limits.AdmitAsync(peerId, LiveCallerKind.Peer, 1, context.Method, token)
                    : ValueTask.CompletedTask).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Graceful shutdown; the peer reconnects to another instance or after restart.
        }
    }

    /// <summary>
    /// Called in arrival order on the reading thread: checks what ends the stream (throws), then starts the envelope's
    /// checks and commit on the thread pool. Returns null for a hello (not answered). An envelope before the stream's
    /// hello is answered REJECTED hello-required (retry later) without being opened.
    /// </summary>
    private Task<ExchangeResponse?> Start(ref PeerSettings peer, ref bool helloReceived, ExchangeRequest request, CommitTurn turn, CancellationToken ct)
    {
        switch (request.KindCase)
        {
            case ExchangeRequest.KindOneofCase.Hello:
                if (request.Hello.Sender != peer.IdText)
                {
                    throw new RpcException(new Status(StatusCode.PermissionDenied, $"hello.sender '{request.Hello.Sender}' is not the mTLS identity '{peer.IdText}'"));
                }

                helloReceived = true;
                Interlocked.Exchange(ref metrics.Peer(peer.IdText).HelloTrustBundleSequence, (long)Math.Min(request.Hello.TrustBundleSequence, long.MaxValue));
                if (request.Hello.TrustBundleSequence > (trustSnapshot.Current.PeerBundles.TryGetValue(peer.Id.TrustDomain, out var held) ? held.Bundle.Sequence : 0UL))
                {
                    // The peer announces a newer bundle (new roots, revocations, key announcements) than the one held: fetch it
                    // in the background, so envelopes signed with its new keys verify without waiting on a call here.
                    directory.RequestFetch(peer.IdText);
                }

                return Task.FromResult<ExchangeResponse?>(null);
            case ExchangeRequest.KindOneofCase.Envelope:
                // Policies may have been reloaded since the stream opened: use the current ones.
                if (!trustSnapshot.Current.Peers.TryGetValue(peer.IdText, out var current))
                {
                    throw new RpcException(new Status(StatusCode.PermissionDenied, $"{peer.IdText} is no longer a configured peer"));
                }

                peer = current;
                var envelope = request.Envelope;
                if (!helloReceived)
                {
                    var (refused, refusedId) = receiver.RejectBeforeHello(current, envelope);
                    return Task.FromResult<ExchangeResponse?>(ToResponse(refused, null, refusedId));
                }

                return Task.Run(() => ReceiveAsync(current, envelope, turn, ct), ct);
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, "exchange request without hello or envelope (unknown message kind)"));
        }
    }

    private async Task<ExchangeResponse?> ReceiveAsync(PeerSettings peer, Envelope envelope, CommitTurn turn, CancellationToken ct)
    {
        var (outcome, receipt, envelopeId) = await receiver.ReceiveAsync(peer, envelope, turn, ct).ConfigureAwait(false);
        return ToResponse(outcome, receipt, envelopeId);
    }

    private static ExchangeResponse ToResponse(ReceiveOutcome outcome, Receipt? receipt, byte[] envelopeId)
    {
        var ack = new Ack { EnvelopeId = ByteString.CopyFrom(envelopeId), Status = outcome.Status, Reason = outcome.Reason, ReasonCode = outcome.Code };
        if (receipt is not null)
        {
            ack.Receipt = receipt;
        }

        return new ExchangeResponse { Ack = ack };
    }

    public override Task<SignedTrustBundle> GetTrustBundle(GetTrustBundleRequest request, ServerCallContext context)
    {
        var caller = authorization.RequireBundleReader(context);
        callerActivity.BundleFetched(caller.ToString(), Storage.CallerKinds.Peer, request.KnownSequence);
        return Task.FromResult(publisher.Current);
    }
}
