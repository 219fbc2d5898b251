using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static CyberCoop.Federation.Tests.Lifecycle.LifecycleFederation;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests.Lifecycle;

/// <summary>Withdrawal of an indicator by its origin across real nations on loopback, and every way to forge one.</summary>
public sealed class WithdrawalTests : IAsyncLifetime
{
    private const string Value = "203.0.113.77";
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = LifecycleFederation.Create();
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private GatewayStore Store(string code) => _f[code].Node!.Runtime.Store;

    private static string Id => IdOf(IndicatorType.Ipv4, Value);

    /// <summary>ee publishes a GREEN indicator; waits until the relay-only node lv holds it.</summary>
    private async Task PublishAsync()
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, Value, Tlp.Green));
        await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Ipv4, Value) is not null, "lv holds ee's indicator by relay", TimeSpan.FromSeconds(40));
    }

    private async Task<IReadOnlyList<WithdrawalRecord>> WithdrawalsAsync(string code) => await Store(code).ReadWithdrawalsAsync(Id, CancellationToken.None);

    [Fact]
    public async Task Withdrawal_by_the_origin_reaches_the_direct_peer_and_the_relay_only_node_exactly_once()
    {
        await PublishAsync();

        var response = await WithdrawAsync(_f, "ee", Id, "CDN address, false positive");

        Assert.Equal([_f["fi"].GatewayId], response.Peers);
        await WaitUntilAsync(async () => (await WithdrawalsAsync("lv")).Count == 1, "lv records the withdrawal", TimeSpan.FromSeconds(40));
        var atFi = Assert.Single(await WithdrawalsAsync("fi"));
        Assert.Equal(_f["ee"].GatewayId, atFi.Origin);
        Assert.Equal(_f["ee"].GatewayId, atFi.Sender);
        Assert.Equal("CDN address, false positive", atFi.Reason);
        var atLv = Assert.Single(await WithdrawalsAsync("lv"));
        Assert.Equal(_f["ee"].GatewayId, atLv.Origin);
        Assert.Equal(_f["fi"].GatewayId, atLv.Sender);
        Assert.Equal(atFi.WithdrawalId, atLv.WithdrawalId);

        // Kept for audit, marked withdrawn.
        var kept = await _f.GetAsync("lv", IndicatorType.Ipv4, Value);
        Assert.NotNull(kept);
        Assert.Equal(IndicatorStatus.Withdrawn, (await IndicatorStatus.ReadAsync(Store("lv"), kept!, DateTimeOffset.UtcNow, CancellationToken.None)).Status);
        Assert.Equal(IndicatorStatus.Withdrawn, (await IndicatorStatus.ReadAsync(Store("ee"), (await _f.GetAsync("ee", IndicatorType.Ipv4, Value))!, DateTimeOffset.UtcNow, CancellationToken.None)).Status);

        // Both outboxes drain (acked), fi audits the relay, each node applied it once.
        await WaitUntilAsync(async () => (await Store("ee").GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None)).Depth == 0, "ee's outbox to fi drains");
        await WaitUntilAsync(async () => (await Store("fi").GetOutboxStatsAsync(_f["lv"].GatewayId, CancellationToken.None)).Depth == 0, "fi's outbox to lv drains");
        Assert.Contains(await AuditAsync(Store("fi")), e => e.Decision == "withdrawal-relayed" && e.Reason.StartsWith("to " + _f["lv"].GatewayId, StringComparison.Ordinal));
        Assert.Single(await AuditAsync(Store("lv")), e => e.Decision == "withdrawn-by-origin" && e.Subject == Id);
        Assert.Single(await AuditAsync(Store("fi")), e => e.Decision == "withdrawn-by-origin" && e.Subject == Id);
    }

    [Fact]
    public async Task Withdrawn_indicator_is_not_sent_again_when_the_origin_sees_it_again()
    {
        await PublishAsync();
        await WithdrawAsync(_f, "ee", Id, "false positive");
        await WaitUntilAsync(async () => (await WithdrawalsAsync("lv")).Count == 1, "lv records the withdrawal", TimeSpan.FromSeconds(40));
        var sharedBefore = (await AuditAsync(Store("ee"))).Count(e => e.Decision == "shared");

        // The origin's sensors keep seeing it; a second, fresh indicator proves the dispatcher ran after that.
        await _f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, Value, Tlp.Green));
        await _f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, "203.0.113.78", Tlp.Green));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Ipv4, "203.0.113.78") is not null, "fi gets the fresh indicator");

        var shared = (await AuditAsync(Store("ee"))).Where(e => e.Decision == "shared").Skip(sharedBefore).ToList();
        Assert.NotEmpty(shared);
        Assert.DoesNotContain(shared, e => e.DetailsJson.Contains(Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_the_origin_can_withdraw_and_a_node_that_is_not_is_told_to_suppress()
    {
        await PublishAsync();
        using var admin = AdminSocketClient.Connect(AdminSocket(_f, "fi"));

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await admin.Lifecycle.WithdrawAsync(new WithdrawRequest { IndicatorId = Id, Reason = "not mine" }));

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("suppress", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await WithdrawalsAsync("fi"));
        await AssertNoWithdrawalQueuedAsync("fi", "lv");
    }

    /// <summary>No withdrawal waits in <paramref name="from"/>'s outbox to <paramref name="to"/> (bundles may still be in flight).</summary>
    private async Task AssertNoWithdrawalQueuedAsync(string from, string to) =>
        Assert.DoesNotContain(await Store(from).ReadOutboxAsync(_f[to].GatewayId, 0, 1000, CancellationToken.None), e => e.Kind == PayloadKind.Withdrawal);

    [Fact]
    public async Task Withdraw_over_the_federation_port_is_denied_even_to_a_pinned_peer_gateway()
    {
        await PublishAsync();
        using var fiGateway = _f.LoadCertificate("fi", "gateway");

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await _f.IndicatorAdminOverTcp("ee", fiGateway).WithdrawAsync(new WithdrawRequest { IndicatorId = Id, Reason = "remote attempt" }));

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Empty(await WithdrawalsAsync("ee"));
        Assert.Empty(await WithdrawalsAsync("fi"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("line\nbreak")]
    public async Task Withdrawal_with_a_bad_reason_is_refused_and_nothing_is_sent(string reason)
    {
        await PublishAsync();
        using var admin = AdminSocketClient.Connect(AdminSocket(_f, "ee"));

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await admin.Lifecycle.WithdrawAsync(new WithdrawRequest { IndicatorId = Id, Reason = reason }));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Empty(await WithdrawalsAsync("ee"));
    }

    [Fact]
    public async Task Withdrawing_twice_or_an_unknown_indicator_is_refused()
    {
        await PublishAsync();
        await WithdrawAsync(_f, "ee", Id, "false positive");
        using var admin = AdminSocketClient.Connect(AdminSocket(_f, "ee"));

        var again = await Assert.ThrowsAsync<RpcException>(async () => await admin.Lifecycle.WithdrawAsync(new WithdrawRequest { IndicatorId = Id, Reason = "again" }));
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await admin.Lifecycle.WithdrawAsync(
            new WithdrawRequest { IndicatorId = IdOf(IndicatorType.Ipv4, "192.0.2.200"), Reason = "never seen" }));

        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Single(await WithdrawalsAsync("ee"));
    }

    [Fact]
    public async Task Local_suppression_stays_local()
    {
        await PublishAsync();
        using var admin = AdminSocketClient.Connect(AdminSocket(_f, "fi"));

        var first = await admin.Lifecycle.SuppressAsync(new SuppressRequest { IndicatorId = Id, Reason = "blocks our CDN users" });
        var second = await admin.Lifecycle.SuppressAsync(new SuppressRequest { IndicatorId = Id, Reason = "again" });

        Assert.True(first.Changed);
        Assert.False(second.Changed);
        var atFi = await _f.GetAsync("fi", IndicatorType.Ipv4, Value);
        Assert.Equal(IndicatorStatus.Suppressed, (await IndicatorStatus.ReadAsync(Store("fi"), atFi!, DateTimeOffset.UtcNow, CancellationToken.None)).Status);
        Assert.Equal(IndicatorStatus.Active, (await IndicatorStatus.ReadAsync(Store("lv"), (await _f.GetAsync("lv", IndicatorType.Ipv4, Value))!, DateTimeOffset.UtcNow, CancellationToken.None)).Status);
        Assert.Equal(IndicatorStatus.Active, (await IndicatorStatus.ReadAsync(Store("ee"), (await _f.GetAsync("ee", IndicatorType.Ipv4, Value))!, DateTimeOffset.UtcNow, CancellationToken.None)).Status);
        await AssertNoWithdrawalQueuedAsync("fi", "lv");
        await AssertNoWithdrawalQueuedAsync("fi", "ee");
        Assert.Single(await AuditAsync(Store("fi")), e => e.Kind == AuditKinds.Suppressed && e.Subject == Id);
    }

    // Forgeries, all delivered to lv by its only peer fi (which relayed ee's indicator to it).

    private Withdrawal Genuine(string? origin = null) => new()
    {
        WithdrawalId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
        Origin = origin ?? _f["ee"].GatewayId,
        IndicatorId = Id,
        Type = IndicatorType.Ipv4,
        Value = Value,
        Reason = "forged or replayed",
        WithdrawnAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    };

    private static byte[] Signed(Withdrawal withdrawal, SigningKeyPair key, ReadOnlySpan<byte> claimedKeyId = default, Func<byte[], byte[]>? tamper = null)
    {
        var bytes = withdrawal.ToByteArray();
        var signature = ContentSignatures.Sign(SignaturePurpose.Withdrawal, bytes, key);
        return new SignedWithdrawal
        {
            Withdrawal = ByteString.CopyFrom(tamper is null ? bytes : tamper(bytes)),
            Suite = Suite.X25519Aes256GcmEd25519,
            SignerKeyId = ByteString.CopyFrom(claimedKeyId.IsEmpty ? key.PublicKey.KeyId : claimedKeyId),
            Signature = ByteString.CopyFrom(signature),
        }.ToByteArray();
    }

    private SigningKeyPair KeyOf(string code) => _f[code].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519);

    private async Task<Ack> SendToLvAsync(byte[] payload, uint hop)
    {
        var crafted = new CraftedEnvelopes(_f, "fi", "lv");
        var envelope = await crafted.SealPayloadAsync(payload, PayloadKind.Withdrawal, hop);
        return Assert.Single(await crafted.ExchangeAsync([envelope]));
    }

    private async Task AssertStillActiveAtLvAsync(string reasonCode)
    {
        Assert.Empty(await WithdrawalsAsync("lv"));
        Assert.Equal(IndicatorStatus.Active, (await IndicatorStatus.ReadAsync(Store("lv"), (await _f.GetAsync("lv", IndicatorType.Ipv4, Value))!, DateTimeOffset.UtcNow, CancellationToken.None)).Status);
        await WaitUntilAsync(async () => (await AuditAsync(Store("lv"))).Any(e => e.Kind == AuditKinds.Rejected && e.Reason.StartsWith(reasonCode, StringComparison.Ordinal)),
            $"lv audits the refusal ({reasonCode})");
    }

    [Fact]
    public async Task Withdrawal_of_another_origins_indicator_signed_by_the_relay_itself_is_refused_and_audited()
    {
        await PublishAsync();

        var ack = await SendToLvAsync(Signed(Genuine(origin: _f["fi"].GatewayId), KeyOf("fi")), hop: 0);

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith("not-origin", ack.Reason, StringComparison.Ordinal);
        await AssertStillActiveAtLvAsync("not-origin");
    }

    [Fact]
    public async Task Withdrawal_naming_the_origin_but_sent_by_another_node_at_hop_zero_is_refused()
    {
        await PublishAsync();

        var ack = await SendToLvAsync(Signed(Genuine(), KeyOf("ee")), hop: 0);

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith("origin-mismatch", ack.Reason, StringComparison.Ordinal);
        await AssertStillActiveAtLvAsync("origin-mismatch");
    }

    [Fact]
    public async Task Relayed_withdrawal_signed_by_the_relay_under_the_origins_key_id_is_refused()
    {
        await PublishAsync();

        var ack = await SendToLvAsync(Signed(Genuine(), KeyOf("fi"), KeyOf("ee").PublicKey.KeyId), hop: 1);

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith("bad-signature", ack.Reason, StringComparison.Ordinal);
        await AssertStillActiveAtLvAsync("bad-signature");
    }

    [Fact]
    public async Task Origin_signed_withdrawal_tampered_on_the_way_is_refused()
    {
        await PublishAsync();
        var genuine = Genuine();

        // The relay changes the reason after the origin signed (same length, so the message still parses).
        var ack = await SendToLvAsync(Signed(genuine, KeyOf("ee"), tamper: bytes =>
        {
            var copy = (byte[])bytes.Clone();
            var at = copy.AsSpan().IndexOf("forged"u8);
            copy[at] = (byte)'F';
            return copy;
        }), hop: 1);

        Assert.Equal(AckStatus.Rejected, ack.Status);
        Assert.StartsWith("bad-signature", ack.Reason, StringComparison.Ordinal);
        await AssertStillActiveAtLvAsync("bad-signature");
    }

    [Fact]
    public async Task Replayed_withdrawal_changes_nothing_and_is_audited()
    {
        await PublishAsync();
        await WithdrawAsync(_f, "ee", Id, "false positive");
        await WaitUntilAsync(async () => (await WithdrawalsAsync("lv")).Count == 1, "lv records the withdrawal", TimeSpan.FromSeconds(40));
        var original = Assert.Single(await WithdrawalsAsync("lv"));

        // A copy of a validly signed withdrawal in a fresh envelope, then the very same envelope again.
        var crafted = new CraftedEnvelopes(_f, "fi", "lv");
        var envelope = await crafted.SealPayloadAsync(Signed(Genuine(), KeyOf("ee")), PayloadKind.Withdrawal, 1);
        var acks = await crafted.ExchangeAsync([envelope]);
        var replayed = await crafted.ExchangeAsync([envelope]);

        Assert.Equal(AckStatus.Duplicate, Assert.Single(acks).Status);
        Assert.Equal("duplicate: withdrawal already applied", acks[0].Reason);
        Assert.Equal(AckStatus.Duplicate, Assert.Single(replayed).Status);
        var still = Assert.Single(await WithdrawalsAsync("lv"));
        Assert.Equal(original.WithdrawalId, still.WithdrawalId);
        Assert.Contains(await AuditAsync(Store("lv")), e => e.Reason.StartsWith("withdrawal-already-applied", StringComparison.Ordinal));
        Assert.Equal(0, (await Store("lv").GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None)).Depth);
    }

    [Fact]
    public async Task Malformed_withdrawal_is_refused_with_the_field_named()
    {
        await PublishAsync();
        var wrongId = Genuine();
        wrongId.IndicatorId = IdOf(IndicatorType.Ipv4, "192.0.2.1");

        var garbage = await SendToLvAsync([0x0a, 0xff, 0xff], hop: 1);
        var mismatch = await SendToLvAsync(Signed(wrongId, KeyOf("ee")), hop: 1);

        Assert.Equal(AckStatus.Rejected, garbage.Status);
        Assert.StartsWith("malformed-withdrawal", garbage.Reason, StringComparison.Ordinal);
        Assert.Equal(AckStatus.Rejected, mismatch.Status);
        Assert.Contains("indicator_id", mismatch.Reason, StringComparison.Ordinal);
        await AssertStillActiveAtLvAsync("malformed-withdrawal");
    }
}
