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
        await using var forwarder = node.Services.GetRequiredService<PeerForwarderFactory>().Create(
            node.Runtime.Trust.Peers[fi], NullLogger.Instance);
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
        await using var forwarder = node.Services.GetRequiredService<PeerForwarderFactory>().Create(
            node.Runtime.Trust.Peers[fi], NullLogger.Instance);
        using var acked = new SemaphoreSlim(0);

        // The first 30 are answered; then the stream ends (the peer went away with 2 unanswered).
        await forwarder.ReadAcksAsync(new AckStream(ids.Take(30).Select(id => Ack(id, AckStatus.Accepted)).ToArray()), inFlight, acked,
            new StrongBox<string?>(), CancellationToken.None);

        Assert.Equal(30, acked.CurrentCount);
        Assert.Equal(ids.Skip(30).Select(Convert.ToHexStringLower).Order(), inFlight.Keys.Order());
        var left = await node.Runtime.Store.ReadOutboxAsync(fi, 0, 100, CancellationToken.None);
        Assert.Equal(ids.Skip(30).Select(Convert.ToHexStringLower), left.Select(e => Convert.ToHexStringLower(e.EnvelopeId)));
    }

    [Theory]
    [InlineData(RejectReason.Stale, "bad-signature: the text says final, the typed code says retry later", true)]
    [InlineData(RejectReason.HelloRequired, "hello-required: the stream's first message must be hello", true)]
    [InlineData((RejectReason)150, "some-future-code: a retry-later value this build does not know", true)]
    [InlineData(RejectReason.BadSignature, "stale: the text says retry later, the typed code says final", false)]
    [InlineData(RejectReason.EnvelopeIdReused, "envelope-id-reused: another bundle under this id", false)]
    [InlineData((RejectReason)77, "future: a final value this build does not know", false)]
    public async Task The_sender_keeps_or_drops_a_rejected_envelope_by_its_typed_reason_not_by_the_text(RejectReason code, string text, bool kept)
    {
        var node = _f["ee"].Node!;
        var fi = _f["fi"].GatewayId;
        var id = RandomNumberGenerator.GetBytes(16);
        await node.Runtime.Store.EnqueueOutboxAsync([new OutboxItem(fi, id, [1, 2, 3], 1, DateTimeOffset.UtcNow)], CancellationToken.None);
        var entries = await node.Runtime.Store.ReadOutboxAsync(fi, 0, 10, CancellationToken.None);
        var inFlight = new ConcurrentDictionary<string, OutboxEntry>(entries.ToDictionary(e => Convert.ToHexStringLower(e.EnvelopeId)), StringComparer.Ordinal);
        await using var forwarder = node.Services.GetRequiredService<PeerForwarderFactory>().Create(
            node.Runtime.Trust.Peers[fi], NullLogger.Instance);
        using var acked = new SemaphoreSlim(0);
        var refusal = new StrongBox<string?>();
        var response = Ack(id, AckStatus.Rejected, text);
        response.Ack.ReasonCode = code;

        var read = forwarder.ReadAcksAsync(new AckStream(response), inFlight, acked, refusal, CancellationToken.None);
        if (kept)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => read);
        }
        else
        {
            await read;
        }

        var left = await node.Runtime.Store.ReadOutboxAsync(fi, 0, 10, CancellationToken.None);
        Assert.Equal(kept ? 1 : 0, left.Count);
    }

    [Theory]
    [InlineData("stale: sent at 2026-11-23T18:00:00Z, outside the 600s replay window", RejectReason.Stale)]
    [InlineData("origin-key-unknown: no verifiable signing key", RejectReason.OriginKeyUnknown)]
    [InlineData("bad-signature: does not verify", RejectReason.BadSignature)]
    [InlineData("replay: not a code of this protocol", RejectReason.Unspecified)]
    [InlineData("", RejectReason.Unspecified)]
    public void A_receiver_without_the_typed_field_is_read_through_the_same_table(string text, RejectReason expected)
    {
        var ack = new Ack { Status = AckStatus.Rejected, Reason = text };

        Assert.Equal(expected, RejectReasons.Of(ack));
    }

    [Fact]
    public void Every_reason_has_its_own_text_code_and_the_retry_later_class_is_exactly_100_to_199()
    {
        var all = RejectReasons.All.ToList();

        Assert.Equal(System.Enum.GetValues<RejectReason>().Where(r => r != RejectReason.Unspecified).Order(), all.Order());
        Assert.Equal(all.Count, all.Select(RejectReasons.Code).Distinct(StringComparer.Ordinal).Count());
        Assert.All(all, r => Assert.Equal(r, RejectReasons.Of(new Ack { Status = AckStatus.Rejected, Reason = RejectReasons.Code(r) + ": detail" })));
        Assert.Equal(
            [RejectReason.UnknownKey, RejectReason.KeyExpired, RejectReason.Stale, RejectReason.Future, RejectReason.OriginKeyUnknown, RejectReason.HelloRequired],
            all.Where(RejectReasons.IsRetryLater).Order());
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
