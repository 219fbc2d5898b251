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
    GatewayRuntime runtime,
    CallerAuthorization authorization,
    LiveStreamRegistry streams,
    EnvelopeReceiver receiver,
    TrustBundlePublisher publisher,
    IHostApplicationLifetime lifetime) : Contracts.V1.Federation.FederationBase
{
    public override async Task Exchange(IAsyncStreamReader<ExchangeRequest> requestStream, IServerStreamWriter<ExchangeResponse> responseStream, ServerCallContext context)
    {
        var peer = authorization.RequirePeer(context);
        // Cut with PermissionDenied, between envelopes, if the peer is removed or its certificate revoked while the stream is open.
        using var live = streams.Register(context, peer.Id, LiveCallerKind.Peer);
        // End the stream when the node shuts down: every envelope already answered was committed first.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var ct = stopping.Token;
        try
        {
            await ServeExchangeAsync(peer, live.Guard(requestStream), responseStream, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Graceful shutdown; the peer reconnects to another instance or after restart.
        }
    }

    private async Task ServeExchangeAsync(PeerSettings peer, IAsyncStreamReader<ExchangeRequest> requestStream, IServerStreamWriter<ExchangeResponse> responseStream, CancellationToken ct)
    {
        await foreach (var request in requestStream.ReadAllAsync(ct).ConfigureAwait(false))
        {
            switch (request.KindCase)
            {
                case ExchangeRequest.KindOneofCase.Hello:
                    if (request.Hello.Sender != peer.IdText)
                    {
                        throw new RpcException(new Status(StatusCode.PermissionDenied, $"hello.sender '{request.Hello.Sender}' is not the mTLS identity '{peer.IdText}'"));
                    }

                    break;
                case ExchangeRequest.KindOneofCase.Envelope:
                    // Policies may have been reloaded since the stream opened: use the current ones.
                    if (!runtime.Trust.Peers.TryGetValue(peer.IdText, out var current))
                    {
                        throw new RpcException(new Status(StatusCode.PermissionDenied, $"{peer.IdText} is no longer a configured peer"));
                    }

                    peer = current;
                    var (outcome, receipt, envelopeId) = await receiver.ReceiveAsync(peer, request.Envelope, ct).ConfigureAwait(false);
                    var ack = new Ack { EnvelopeId = ByteString.CopyFrom(envelopeId), Status = outcome.Status, Reason = outcome.Reason };
                    if (receipt is not null)
                    {
                        ack.Receipt = receipt;
                    }

                    await responseStream.WriteAsync(new ExchangeResponse { Ack = ack }, ct).ConfigureAwait(false);
                    break;
                default:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "exchange request without hello or envelope (unknown message kind)"));
            }
        }

    }

    public override Task<SignedTrustBundle> GetTrustBundle(GetTrustBundleRequest request, ServerCallContext context)
    {
        authorization.RequireBundleReader(context);
        return Task.FromResult(publisher.Current);
    }
}
