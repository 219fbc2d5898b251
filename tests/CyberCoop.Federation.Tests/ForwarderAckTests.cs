using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Federation.Tests;

/// <summary>How the sender takes the acks of a pipelined window (real node, real outbox in SQLite).</summary>
public sealed class ForwarderAckTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        // fi is configured but never started: ee's own forwarder cannot deliver (or delete) anything meanwhile.
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        await _f.StartAsync("ee");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_refusal_for_now_keeps_its_envelope_and_the_acks_behind_it_still_delete_theirs()
    {
        var node = _f["ee"].Node!;
        var fi = _f["fi"].GatewayId;
        var ids = Enumerable.Range(0, 4).Select(_ => RandomNumberGenerator.GetBytes(16)).ToList();
        await node.Runtime.Store.EnqueueOutboxAsync(
            ids.Select(id => new OutboxItem(fi, id, [1, 2, 3], 1, DateTimeOffset.UtcNow)).ToList(), CancellationToken.None);
        var entries = await node.Runtime.Store.ReadOutboxAsync(fi, 0, 10, CancellationToken.None);
        var inFlight = new ConcurrentDictionary<string, OutboxEntry>(entries.ToDictionary(e => Convert.ToHexStringLower(e.EnvelopeId)), StringComparer.Ordinal);
        await using var forwarder = new PeerForwarder(node.Runtime, node.Services.GetRequiredService<PeerKeyDirectory>(),
            node.Services.GetRequiredService<OutboundDispatcher>(), node.Runtime.Trust.Peers[fi], NullLogger.Instance);
        using var acked = new SemaphoreSlim(0);
        var refusal = new StrongBox<string?>();
        // The peer refuses the second envelope for now (clock skew); the ones before and behind it are committed there.
        var acks = new AckStream(
            Ack(ids[0], AckStatus.Accepted),
            Ack(ids[1], AckStatus.Rejected, "future: sent at 2026-11-23T18:00:00Z, more than 60s ahead of this node's clock"),
            Ack(ids[2], AckStatus.Accepted),
            Ack(ids[3], AckStatus.Duplicate));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => forwarder.ReadAcksAsync(acks, inFlight, acked, refusal, CancellationToken.None));

        Assert.Contains(Convert.ToHexStringLower(ids[1]), error.Message, StringComparison.Ordinal);
        Assert.Contains("future", error.Message, StringComparison.Ordinal);
        Assert.Empty(inFlight);
        var left = await node.Runtime.Store.ReadOutboxAsync(fi, 0, 10, CancellationToken.None);
        Assert.Equal(Convert.ToHexStringLower(ids[1]), Convert.ToHexStringLower(Assert.Single(left).EnvelopeId));
    }

    [Fact]
    public async Task Acks_of_a_full_window_delete_every_acknowledged_envelope_and_only_those()
    {
        var node = _f["ee"].Node!;
        var fi = _f["fi"].GatewayId;
        var ids = Enumerable.Range(0, 32).Select(_ => RandomNumberGenerator.GetBytes(16)).ToList();
        await node.Runtime.Store.EnqueueOutboxAsync(
            ids.Select(id => new OutboxItem(fi, id, [1, 2, 3], 1, DateTimeOffset.UtcNow)).ToList(), CancellationToken.None);
        var entries = await node.Runtime.Store.ReadOutboxAsync(fi, 0, 100, CancellationToken.None);
        var inFlight = new ConcurrentDictionary<string, OutboxEntry>(entries.ToDictionary(e => Convert.ToHexStringLower(e.EnvelopeId)), StringComparer.Ordinal);
        await using var forwarder = new PeerForwarder(node.Runtime, node.Services.GetRequiredService<PeerKeyDirectory>(),
            node.Services.GetRequiredService<OutboundDispatcher>(), node.Runtime.Trust.Peers[fi], NullLogger.Instance);
        using var acked = new SemaphoreSlim(0);

        // The first 30 are answered; then the stream ends (the peer went away with 2 unanswered).
        await forwarder.ReadAcksAsync(new AckStream(ids.Take(30).Select(id => Ack(id, AckStatus.Accepted)).ToArray()), inFlight, acked,
            new StrongBox<string?>(), CancellationToken.None);

        Assert.Equal(30, acked.CurrentCount);
        Assert.Equal(ids.Skip(30).Select(Convert.ToHexStringLower).Order(), inFlight.Keys.Order());
        var left = await node.Runtime.Store.ReadOutboxAsync(fi, 0, 100, CancellationToken.None);
        Assert.Equal(ids.Skip(30).Select(Convert.ToHexStringLower), left.Select(e => Convert.ToHexStringLower(e.EnvelopeId)));
    }

    private static ExchangeResponse Ack(byte[] envelopeId, AckStatus status, string reason = "") =>
        new() { Ack = new Ack { EnvelopeId = ByteString.CopyFrom(envelopeId), Status = status, Reason = reason } };

    /// <summary>A response stream that yields the given acks, then ends.</summary>
    private sealed class AckStream(params ExchangeResponse[] responses) : IAsyncStreamReader<ExchangeResponse>
    {
        private int _next = -1;

        public ExchangeResponse Current => responses[_next];

        public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromResult(++_next < responses.Length);
    }
}
