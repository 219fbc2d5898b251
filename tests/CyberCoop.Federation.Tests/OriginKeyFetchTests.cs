using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Identity;
using CyberCoop.Gateway.Inbound;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A relayed bundle whose origin's signing key the receiver does not hold: the receive only looks the key up and answers
/// <c>origin-key-unknown</c> (retry later) at once, the key directory fetches the origin's bundle in the background, and
/// the relay's re-send is accepted. fi plays the relay (envelopes crafted with its real certificate); lv receives.
/// </summary>
public sealed class OriginKeyFetchTests
{
    private const Suite BundleSuite = Suite.X25519Aes256GcmEd25519;

    [Fact]
    public async Task A_relayed_bundle_signed_with_an_origin_key_not_held_yet_is_refused_for_now_and_stored_once_after_the_background_fetch()
    {
        await using var f = TestFederation.Create("ee", "fi", "lv");
        f.PeerBoth("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "GREEN" });
        f.PeerBoth("ee", "lv", new OutboundPolicyConfig { TlpCeiling = "CLEAR" });
        await f.StartAsync();
        var lvDirectory = f["lv"].Node!.Services.GetRequiredService<PeerKeyDirectory>();
        await WaitUntilAsync(() => Task.FromResult(lvDirectory.Find(f["ee"].GatewayId) is not null), "lv holds ee's first announcement", TimeSpan.FromSeconds(30));
        // ee replaces its keys at once (keys rotate --now): lv's held announcement does not have the new signing key.
        NodeIdentity.RotateKeys(Path.Combine(f["ee"].Directory, "keys"), TimeProvider.System);
        Assert.True(f["ee"].Node!.Runtime.Reload().Applied);
        var newKey = f["ee"].Node!.Runtime.Identity.SigningKey(BundleSuite);
        Assert.Null(lvDirectory.FindSigningKey(f["ee"].GatewayId, newKey.PublicKey.KeyId));
        var (payload, indicatorId) = RelayedBundle(f, newKey);
        var relay = new CraftedEnvelopes(f, "fi", "lv");

        var first = await relay.ExchangeAsync([await relay.SealPayloadAsync(payload, PayloadKind.Bundle, hopCount: 1)]);

        Assert.Equal(AckStatus.Rejected, Assert.Single(first).Status);
        Assert.Equal(RejectReason.OriginKeyUnknown, RejectReasons.Of(first[0]));
        Assert.Null(await f.GetAsync("lv", IndicatorType.Domain, DomainOf(payload)));
        // The relay keeps the envelope and re-sends it (sealed afresh, as a sender does) until it is taken.
        await WaitUntilAsync(async () =>
        {
            var ack = Assert.Single(await relay.ExchangeAsync([await relay.SealPayloadAsync(payload, PayloadKind.Bundle, hopCount: 1)]));
            Assert.True(ack.Status == AckStatus.Accepted || RejectReasons.Of(ack) == RejectReason.OriginKeyUnknown, $"unexpected ack {ack.Status} {ack.Reason}");
            return ack.Status == AckStatus.Accepted;
        }, "lv accepts the re-sent relayed bundle once ee's new key is fetched", TimeSpan.FromSeconds(30));
        Assert.NotNull(lvDirectory.FindSigningKey(f["ee"].GatewayId, newKey.PublicKey.KeyId));
        // A further re-send of the same bundle (its ack lost, say) stores nothing new.
        var again = Assert.Single(await relay.ExchangeAsync([await relay.SealPayloadAsync(payload, PayloadKind.Bundle, hopCount: 1)]));

        Assert.NotEqual(AckStatus.Rejected, again.Status);
        var stored = await f.GetAsync("lv", IndicatorType.Domain, DomainOf(payload));
        Assert.NotNull(stored);
        Assert.Single(stored.Observations, o => o.Node == f["ee"].GatewayId);
        var accepted = (await f.AuditAsync("lv")).Count(e => e.Kind == AuditKinds.Received && e.Decision == "accepted" && e.DetailsJson.Contains(indicatorId, StringComparison.Ordinal));
        Assert.Equal(1, accepted);
    }

    [Fact]
    public async Task A_receive_never_waits_on_an_origin_that_does_not_answer()
    {
        // lv pins ee as a peer, but ee's address is a listener that accepts connections and never answers a handshake:
        // a call to it gives up only after the connect timeout (5 s). A receive that called ee would answer only then.
        await using var f = TestFederation.Create("ee", "fi", "lv");
        f.PeerBoth("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "GREEN" });
        f.Peer("lv", "ee", new OutboundPolicyConfig { TlpCeiling = "CLEAR" });
        await using var silent = SilentListener.Start(f["ee"].Port);
        await f.StartAsync("fi", "lv");
        using var unknownKey = SigningKeyPair.Generate(BundleSuite);
        var (payload, _) = RelayedBundle(f, unknownKey);
        var relay = new CraftedEnvelopes(f, "fi", "lv");
        var envelope = await relay.SealPayloadAsync(payload, PayloadKind.Bundle, hopCount: 1);
        var sent = Stopwatch.GetTimestamp();

        var acks = await relay.ExchangeAsync([envelope]);

        var answered = Stopwatch.GetTimestamp();
        Assert.Equal(RejectReason.OriginKeyUnknown, RejectReasons.Of(Assert.Single(acks)));
        // No connection to ee opened after the envelope was sent had been given up by lv before the answer came: the
        // answer did not wait for a call to ee (the old receive path answered only after giving such a call up).
        Assert.DoesNotContain(silent.Connections, c => c.OpenedAt >= sent && c.ClosedAt is { } closed && closed <= answered);
        // The fetch the miss asked for does go out, in the background.
        await WaitUntilAsync(() => Task.FromResult(silent.Connections.Any(c => c.OpenedAt >= sent)), "lv tries to fetch ee's keys in the background", TimeSpan.FromSeconds(30));
        await WaitUntilAsync(async () => (await f.AuditAsync("lv")).Any(e => e.Kind == AuditKinds.Rejected && e.Reason.StartsWith("origin-key-unknown", StringComparison.Ordinal)),
            "lv audits the refusal");
    }

    [Fact]
    public async Task A_relayed_bundle_from_an_origin_whose_root_is_not_pinned_is_still_refused_for_good()
    {
        await using var f = TestFederation.Create("ee", "fi", "lv");
        f.PeerBoth("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "GREEN" });
        await f.StartAsync("fi", "lv");
        using var key = SigningKeyPair.Generate(BundleSuite);
        var (payload, _) = RelayedBundle(f, key);
        var relay = new CraftedEnvelopes(f, "fi", "lv");

        var acks = await relay.ExchangeAsync([await relay.SealPayloadAsync(payload, PayloadKind.Bundle, hopCount: 1)]);

        Assert.Equal(AckStatus.Rejected, Assert.Single(acks).Status);
        Assert.Equal(RejectReason.OriginNotPinned, RejectReasons.Of(acks[0]));
        Assert.False(RejectReasons.IsRetryLater(RejectReasons.Of(acks[0])));
        Assert.Null(await f.GetAsync("lv", IndicatorType.Domain, DomainOf(payload)));
    }

    [Fact]
    public async Task A_relayed_bundle_from_a_trusted_origin_that_is_not_a_peer_with_an_unknown_key_is_refused_for_now_without_a_fetch()
    {
        await using var f = TestFederation.Create("ee", "fi", "lv");
        f.PeerBoth("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "GREEN" });
        f.TrustOrigin("lv", "ee");
        await f.StartAsync("fi", "lv");
        using var key = SigningKeyPair.Generate(BundleSuite);
        var (payload, _) = RelayedBundle(f, key);
        var relay = new CraftedEnvelopes(f, "fi", "lv");

        var acks = await relay.ExchangeAsync([await relay.SealPayloadAsync(payload, PayloadKind.Bundle, hopCount: 1)]);

        Assert.Equal(RejectReason.OriginKeyUnknown, RejectReasons.Of(Assert.Single(acks)));
        Assert.DoesNotContain("being fetched", acks[0].Reason, StringComparison.Ordinal);
        Assert.Null(await f.GetAsync("lv", IndicatorType.Domain, DomainOf(payload)));
    }

    /// <summary>
    /// A GREEN, relayable bundle of one fresh domain that ee sent to fi first, signed with <paramref name="key"/> (no
    /// origin announcement attached), as fi would relay it to lv; with the id of its indicator.
    /// </summary>
    private static (byte[] Payload, string IndicatorId) RelayedBundle(TestFederation f, SigningKeyPair key)
    {
        var now = DateTimeOffset.UtcNow;
        var value = $"relayed-{Guid.NewGuid():n}.example";
        var seen = Timestamp.FromDateTimeOffset(now.AddMinutes(-1));
        var indicator = new Indicator
        {
            Id = IdOf(IndicatorType.Domain, value),
            Type = IndicatorType.Domain,
            Value = value,
            Tlp = Tlp.Green,
            Confidence = 70,
            FirstSeen = seen,
            LastSeen = seen,
            OriginDomain = f["ee"].Domain,
        };
        indicator.Observations.Add(new Observation { Node = f["ee"].GatewayId, Count = 1, Confidence = 70, FirstSeen = seen, LastSeen = seen });
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Origin = f["ee"].GatewayId,
            FirstRecipient = f["fi"].GatewayId,
            CreatedAt = Timestamp.FromDateTimeOffset(now),
            RelayAllowed = true,
            MaxHops = 2,
        };
        bundle.Indicators.Add(indicator);
        var bytes = bundle.ToByteArray();
        var signed = new SignedBundle
        {
            Bundle = ByteString.CopyFrom(bytes),
            Suite = BundleSuite,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Bundle, bytes, key)),
        };
        return (signed.ToByteArray(), indicator.Id);
    }

    private static string DomainOf(byte[] payload) =>
        Bundle.Parser.ParseFrom(SignedBundle.Parser.ParseFrom(payload).Bundle).Indicators[0].Value;

    /// <summary>
    /// Listens on a loopback port, accepts every connection and never sends a byte, recording (on the
    /// <see cref="Stopwatch"/> clock) when each was opened and when its client gave it up.
    /// </summary>
    private sealed class SilentListener : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<Connection> _connections = new();
        private readonly Task _accepting;

        private SilentListener(int port)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
            _listener.Start();
            _accepting = AcceptAsync();
        }

        internal sealed class Connection(long openedAt)
        {
            public long OpenedAt { get; } = openedAt;

            public long? ClosedAt { get; set; }
        }

        public IReadOnlyList<Connection> Connections => [.. _connections];

        public static SilentListener Start(int port) => new(port);

        private async Task AcceptAsync()
        {
            var held = new List<(Socket, Task)>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    var connection = new Connection(Stopwatch.GetTimestamp());
                    _connections.Enqueue(connection);
                    held.Add((socket, DrainAsync(socket, connection)));
                }
            }
            catch (OperationCanceledException)
            {
                // Disposed.
            }
            finally
            {
                foreach (var (socket, drain) in held)
                {
                    socket.Dispose();
                    await drain;
                }
            }
        }

        private async Task DrainAsync(Socket socket, Connection connection)
        {
            var buffer = new byte[4096];
            try
            {
                while (await socket.ReceiveAsync(buffer, _stop.Token) > 0)
                {
                    // Read what the client sends (its TLS hello) and answer nothing.
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            connection.ClosedAt = Stopwatch.GetTimestamp();
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
