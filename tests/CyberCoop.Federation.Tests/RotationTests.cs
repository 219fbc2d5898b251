using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Rotation of TLS certificates and content keys across real nodes: keys announced ahead of use (the default
/// <c>keys rotate</c>), used by both sides only from their not-before, kept for late senders until the grace ends;
/// the emergency path (<c>--now</c>). Time is moved with a shared <see cref="OffsetTimeProvider"/>, never slept.
/// </summary>
public sealed class RotationTests : IAsyncLifetime
{
    private const Suite Hybrid = Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;
    private static readonly TimeSpan AnnounceAhead = TimeSpan.FromSeconds(3 * 300);
    private readonly OffsetTimeProvider _clock = new();
    private TestFederation _f = null!;
    private CraftedEnvelopes _ee = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f["ee"].Time = _clock;
        _f["fi"].Time = _clock;
        _ee = new CraftedEnvelopes(_f, "ee", "fi", _clock);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Scheduled_rotation_is_announced_ahead_and_both_sides_switch_only_at_its_not_before()
    {
        await _f.StartAsync();
        await DeliverAsync("warm-up.example");
        var oldKem = ActiveKeyId("fi", ContentKeyKind.Kem);
        var oldSigning = ActiveKeyId("ee", ContentKeyKind.Signing);

        var notBefore = ScheduleRotation("ee", "fi");

        // The peer's fetched bundle announces the new key with a not-before in the future.
        var newKem = PendingKeyId("fi", ContentKeyKind.Kem);
        var newSigning = PendingKeyId("ee", ContentKeyKind.Signing);
        _clock.Offset += TimeSpan.FromSeconds(301);
        var announced = await WaitForAnnouncedAsync("ee", "fi", newKem);
        Assert.Equal(notBefore.ToUnixTimeMilliseconds(), announced.NotBefore.ToUnixTimeMilliseconds());
        Assert.True(announced.NotBefore > _clock.GetUtcNow() + TimeSpan.FromMinutes(5));

        // Before the not-before: the peer seals to the old key and the node signs with the old key.
        var before = await DeliverAsync("before-not-before.example");
        Assert.Equal(oldKem, before.RecipientKeyId);
        Assert.Equal(oldSigning, before.SignerKeyId);

        // From the not-before on: both use the new keys, without restart or reload.
        _clock.Offset = notBefore - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        var after = await DeliverAsync("after-not-before.example");
        Assert.Equal(newKem, after.RecipientKeyId);
        Assert.Equal(newSigning, after.SignerKeyId);
        Assert.Equal(newSigning, Convert.ToHexStringLower(_f["ee"].Node!.Runtime.Identity.SigningKey(Hybrid).PublicKey.KeyId));
        Assert.Equal(0, Interlocked.Read(ref _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId).EnvelopesRejected));
    }

    [Fact]
    public async Task A_sender_that_uses_the_new_key_early_is_still_opened()
    {
        await _f.StartAsync();
        await DeliverAsync("warm-up.example");
        var notBefore = ScheduleRotation("fi");
        var newKem = PendingKeyId("fi", ContentKeyKind.Kem);

        // Within the clock-skew tolerance before the not-before, the sender already seals to the new key; the
        // receiver still counts it as pending, and opens with it.
        _clock.Offset = notBefore - DateTimeOffset.UtcNow - TimeSpan.FromSeconds(60);
        await WaitForAnnouncedAsync("ee", "fi", newKem);
        var early = await DeliverAsync("early.example");

        Assert.Equal(newKem, early.RecipientKeyId);
        Assert.NotNull(_f["fi"].Node!.Runtime.Identity.PendingActivation());
    }

    [Fact]
    public async Task A_restart_between_rotate_and_activation_keeps_the_pending_keys_and_their_schedule()
    {
        await _f.StartAsync();
        await DeliverAsync("warm-up.example");
        var notBefore = ScheduleRotation("fi");
        var pendingKem = PendingKeyId("fi", ContentKeyKind.Kem);
        var pendingSigning = PendingKeyId("fi", ContentKeyKind.Signing);

        await _f.StopAsync("fi");
        await _f.StartAsync("fi");

        var identity = _f["fi"].Node!.Runtime.Identity;
        Assert.Equal(notBefore.ToUnixTimeMilliseconds(), identity.PendingActivation()!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(pendingKem, PendingKeyId("fi", ContentKeyKind.Kem));
        Assert.Equal(pendingSigning, PendingKeyId("fi", ContentKeyKind.Signing));

        _clock.Offset = notBefore - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        await WaitForAnnouncedAsync("ee", "fi", pendingKem);
        var after = await DeliverAsync("after-restart.example");
        Assert.Equal(pendingKem, after.RecipientKeyId);
        Assert.Null(_f["fi"].Node!.Runtime.Identity.PendingActivation());
    }

    [Fact]
    public async Task A_late_sender_is_opened_within_the_grace_and_refused_with_the_reason_after_it()
    {
        _f["fi"].EditNode(n => n with { KeyRotation = n.KeyRotation with { RetiredGraceSeconds = 600 } });
        await _f.StartAsync();
        await DeliverAsync("warm-up.example");
        var oldKem = _f["fi"].Node!.Runtime.Identity.ContentKeys.Single(k => k.Kem is not null && k.Suite == Hybrid && k.File.Folder == ContentKeyState.Active).PublicKey;
        var notBefore = ScheduleRotation("fi");

        _clock.Offset = notBefore - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        var late = await SendAsync(CraftEnvelope(oldKem, "late-within-grace.example"));
        Assert.Equal(AckStatus.Accepted, late.Status);

        _clock.Offset = notBefore - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(600 + 120 + 10);
        var tooLate = await SendAsync(CraftEnvelope(oldKem, "late-after-grace.example"));
        Assert.Equal(AckStatus.Rejected, tooLate.Status);
        Assert.StartsWith("key-expired: recipient key " + oldKem.KeyIdHex, tooLate.Reason, StringComparison.Ordinal);
        Assert.Equal(RejectReason.KeyExpired, tooLate.ReasonCode);
        Assert.True(RejectReasons.IsRetryLater(tooLate.ReasonCode), "a sender with a stale bundle refreshes and re-seals, losing nothing");
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Domain, "late-after-grace.example"));
    }

    [Fact]
    public async Task Scheduled_rotation_while_indicators_flow_loses_nothing_and_duplicates_nothing()
    {
        await _f.StartAsync();
        var sent = new List<string>();
        var notBefore = DateTimeOffset.MaxValue;
        for (var round = 0; round < 10; round++)
        {
            var values = Enumerable.Range(0, 40).Select(i => $"flow-{round}-{i}.example").ToArray();
            await _f.IngestAsync("ee", [.. values.Select(v => Sighting(IndicatorType.Domain, v))]);
            sent.AddRange(values);
            if (round == 3)
            {
                notBefore = ScheduleRotation("ee", "fi");
            }

            if (round == 6)
            {
                // Everything so far went out before the not-before; the rest goes after it.
                var sofar = sent.ToList();
                await WaitUntilAsync(async () => (await Task.WhenAll(sofar.Select(v => _f.GetAsync("fi", IndicatorType.Domain, v)))).All(i => i is not null), "fi has the first rounds");
                _clock.Offset = notBefore - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
            }
        }

        await WaitUntilAsync(async () => (await Task.WhenAll(sent.Select(v => _f.GetAsync("fi", IndicatorType.Domain, v)))).All(i => i is not null),
            "every indicator sent across the rotation reached fi", TimeSpan.FromSeconds(30));
        Assert.Equal(sent.Count, Interlocked.Read(ref _f["fi"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId).IndicatorsReceived));
        Assert.Equal(0, Interlocked.Read(ref _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId).EnvelopesRejected));
        var received = await ReceivedAsync("fi");
        Assert.Equal(sent.Count, received.Sum(r => r.Indicators));
        Assert.Equal(2, received.Select(r => r.RecipientKeyId).Distinct().Count());
    }

    [Fact]
    public async Task Emergency_rotation_of_certificates_and_content_keys_while_indicators_flow_loses_nothing()
    {
        await _f.StartAsync();
        var sent = new List<string>();
        var oldSerial = _f["ee"].Node!.Runtime.Identity.Certificate.SerialNumber;
        var oldKeyIds = _f["fi"].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519).PublicKey.KeyId;
        for (var round = 0; round < 12; round++)
        {
            var values = Enumerable.Range(0, 50).Select(i => $"rot-{round}-{i}.example").ToArray();
            await _f.IngestAsync("ee", [.. values.Select(v => Sighting(IndicatorType.Domain, v))]);
            sent.AddRange(values);
            if (round == 4)
            {
                // ee renews its TLS certificate and rotates its content keys; fi rotates its content keys.
                using (var renewed = _f["ee"].Ca.Issue(SpiffeId.Gateway("ee.cybercoop", _f["ee"].GatewayName)))
                {
                    PemFiles.WriteCertificate(Path.Combine(_f["ee"].Directory, "gateway.crt"), renewed);
                    PemFiles.WritePrivateKey(Path.Combine(_f["ee"].Directory, "gateway.key"), renewed);
                }

                NodeIdentity.RotateKeys(KeysDirectory("ee"), _clock);
                NodeIdentity.RotateKeys(KeysDirectory("fi"), _clock);
                Assert.True(_f["ee"].Node!.Runtime.Reload().Applied);
                Assert.True(_f["fi"].Node!.Runtime.Reload().Applied);
            }

            await Task.Delay(50);
        }

        await WaitUntilAsync(async () => (await Task.WhenAll(sent.Select(v => _f.GetAsync("fi", IndicatorType.Domain, v)))).All(i => i is not null),
            "every indicator sent across the rotation reached fi", TimeSpan.FromSeconds(30));
        Assert.NotEqual(oldSerial, _f["ee"].Node!.Runtime.Identity.Certificate.SerialNumber);
        Assert.NotEqual(oldKeyIds, _f["fi"].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519).PublicKey.KeyId);
        Assert.Equal(0, Interlocked.Read(ref _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId).EnvelopesRejected));
    }

    [Fact]
    public async Task Bundles_queued_for_an_offline_peer_are_re_signed_after_an_emergency_rotation_and_delivered()
    {
        await _f.StartAsync();
        await DeliverAsync("warm-up.example");
        var withdrawn = ActiveKeyId("ee", ContentKeyKind.Signing);
        await _f.StopAsync("fi");
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "queued.example"));
        var ee = _f["ee"].Node!.Runtime;
        await WaitUntilAsync(async () => (await ee.Store.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None)).Depth > 0, "the bundle waits in ee's outbox");

        NodeIdentity.RotateKeys(KeysDirectory("ee"), _clock);
        Assert.True(ee.Reload().Applied);
        Assert.False(ee.Identity.IsAnnouncedSigningKey(Convert.FromHexString(withdrawn)));
        await _f.StartAsync("fi");

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "queued.example") is not null, "fi receives the queued bundle");
        var received = (await ReceivedAsync("fi")).Single(r => r.IndicatorIds.Contains(IdOf(IndicatorType.Domain, "queued.example")));
        Assert.Equal(ActiveKeyId("ee", ContentKeyKind.Signing), received.SignerKeyId);
        Assert.NotEqual(withdrawn, received.SignerKeyId);
        Assert.Equal(0, Interlocked.Read(ref ee.Metrics.Peer(_f["fi"].GatewayId).EnvelopesRejected));
    }

    [Fact]
    public async Task Content_relayed_across_the_origins_rotation_verifies_at_the_third_nation_with_the_carried_announcement()
    {
        // ee -> fi -> lv; lv does not peer with ee and learns ee's keys only from the announcement fi attaches.
        await using var f = RelayFederation(lvPeersWithEe: false);
        await f.StartAsync();
        var ee = f["ee"].Node!.Runtime;
        var oldKey = ee.Identity.SigningKey(Hybrid).PublicKey.KeyIdHex;
        var before = await RelayAsync(f, "192.0.2.10");

        var now = _clock.GetUtcNow();
        ContentKeyStore.Schedule(Path.Combine(f["ee"].Directory, "keys"), now, now + AnnounceAhead);
        Assert.True(ee.Reload().Applied);
        _clock.Offset += AnnounceAhead + TimeSpan.FromSeconds(1);
        var newKey = ee.Identity.SigningKey(Hybrid).PublicKey.KeyIdHex;
        var after = await RelayAsync(f, "192.0.2.11");

        Assert.Equal(oldKey, before);
        Assert.Equal(newKey, after);
        Assert.NotEqual(oldKey, newKey);
    }

    [Fact]
    public async Task Relayed_bundles_signed_with_a_key_the_origin_withdrew_are_dropped_at_the_relay_and_the_link_keeps_flowing()
    {
        // ee -> fi -> lv; lv is down while fi queues ee's GREEN bundle for it, then ee withdraws its signing key (--now).
        await using var f = RelayFederation(lvPeersWithEe: false);
        await f.StartAsync();
        var ee = f["ee"].Node!.Runtime;
        var fi = f["fi"].Node!.Runtime;
        var withdrawn = await RelayAsync(f, "192.0.2.20");
        await f.StopAsync("lv");
        await f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, "192.0.2.21", Tlp.Green));
        await WaitUntilAsync(async () => (await fi.Store.GetOutboxStatsAsync(f["lv"].GatewayId, CancellationToken.None)).Depth > 0,
            "fi queues ee's bundle for lv", TimeSpan.FromSeconds(30));

        NodeIdentity.RotateKeys(Path.Combine(f["ee"].Directory, "keys"), _clock);
        Assert.True(ee.Reload().Applied);
        Assert.False(ee.Identity.IsAnnouncedSigningKey(Convert.FromHexString(withdrawn)));
        _clock.Offset += TimeSpan.FromSeconds(fi.Trust.Config.Config.Node.TrustBundleRefreshSeconds + 1);
        var directory = f["fi"].Node!.Services.GetRequiredService<PeerKeyDirectory>();
        await WaitUntilAsync(() => Task.FromResult(directory.FindSigningKey(f["ee"].GatewayId, Convert.FromHexString(withdrawn)) is null),
            "fi refreshed ee's bundle, which no longer announces the withdrawn key", TimeSpan.FromSeconds(30));
        await f.StartAsync("lv");
        var fresh = await RelayAsync(f, "192.0.2.22");

        Assert.NotEqual(withdrawn, fresh);
        Assert.Null(await f.GetAsync("lv", IndicatorType.Ipv4, "192.0.2.21"));
        await WaitUntilAsync(async () => (await fi.Store.GetOutboxStatsAsync(f["lv"].GatewayId, CancellationToken.None)).Depth == 0,
            "fi's outbox for lv is empty", TimeSpan.FromSeconds(30));
        var dropped = new List<string>();
        await foreach (var entry in fi.Store.Audit.TailAsync(10_000, CancellationToken.None))
        {
            if (entry.Kind == "withheld" && entry.Reason.Contains("origin-key-withdrawn", StringComparison.Ordinal))
            {
                dropped.Add(entry.Reason);
            }
        }

        Assert.Single(dropped);
        Assert.Contains(f["lv"].GatewayId, dropped[0], StringComparison.Ordinal);
        Assert.Equal(1, Interlocked.Read(ref fi.Metrics.Peer(f["lv"].GatewayId).EnvelopesDropped));
        var signers = new List<string>();
        await foreach (var entry in f["lv"].Node!.Runtime.Store.Audit.TailAsync(10_000, CancellationToken.None))
        {
            if (entry.Kind == "received" && entry.Decision == "accepted")
            {
                using var details = JsonDocument.Parse(entry.DetailsJson);
                signers.Add(details.RootElement.GetProperty("signerKeyId").GetString()!);
            }
        }

        Assert.Equal(1, signers.Count(s => s == withdrawn));
    }

    [Fact]
    public async Task A_relayed_bundle_refused_for_a_withdrawn_origin_key_is_dropped_at_the_relay_whichever_side_learns_of_the_withdrawal_first()
    {
        // lv peers ee directly (ee shares only CLEAR with it) and so learns of the withdrawal itself; fi, restarted, may
        // send the stale bundle before it has fetched ee's new announcement (lv then refuses it as origin-key-unknown and
        // fi checks again) or after (fi drops it before sending). Either way it is dropped once and the link flows.
        await using var f = RelayFederation(lvPeersWithEe: true);
        await f.StartAsync();
        var ee = f["ee"].Node!.Runtime;
        var withdrawn = await RelayAsync(f, "192.0.2.30");
        await f.StopAsync("lv");
        await f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, "192.0.2.31", Tlp.Green));
        await WaitUntilAsync(async () => (await f["fi"].Node!.Runtime.Store.GetOutboxStatsAsync(f["lv"].GatewayId, CancellationToken.None)).Depth > 0,
            "fi queues ee's bundle for lv", TimeSpan.FromSeconds(30));
        await f.StopAsync("fi");

        NodeIdentity.RotateKeys(Path.Combine(f["ee"].Directory, "keys"), _clock);
        Assert.True(ee.Reload().Applied);
        await f.StartAsync("lv");
        var lvDirectory = f["lv"].Node!.Services.GetRequiredService<PeerKeyDirectory>();
        await WaitUntilAsync(() => Task.FromResult(lvDirectory.Find(f["ee"].GatewayId) is { } keys && !keys.Keys.Any(k => k.Key.KeyIdHex == withdrawn)),
            "lv fetched ee's announcement without the withdrawn key", TimeSpan.FromSeconds(30));
        await f.StartAsync("fi");
        var fresh = await RelayAsync(f, "192.0.2.32");

        var fi = f["fi"].Node!.Runtime;
        Assert.NotEqual(withdrawn, fresh);
        Assert.Null(await f.GetAsync("lv", IndicatorType.Ipv4, "192.0.2.31"));
        await WaitUntilAsync(async () => (await fi.Store.GetOutboxStatsAsync(f["lv"].GatewayId, CancellationToken.None)).Depth == 0,
            "fi's outbox for lv is empty", TimeSpan.FromSeconds(30));
        var dropped = 0;
        await foreach (var entry in fi.Store.Audit.TailAsync(10_000, CancellationToken.None))
        {
            dropped += entry.Kind == "withheld" && entry.Reason.Contains("origin-key-withdrawn", StringComparison.Ordinal) ? 1 : 0;
        }

        Assert.Equal(1, dropped);
        Assert.Equal(1, Interlocked.Read(ref fi.Metrics.Peer(f["lv"].GatewayId).EnvelopesDropped));
        Assert.Equal(0, Interlocked.Read(ref fi.Metrics.Peer(f["lv"].GatewayId).EnvelopesRejected));
    }

    /// <summary>Ingests a GREEN indicator at ee, waits until lv stored it (relayed by fi), and returns the signer key lv verified.</summary>
    /// <summary>
    /// ee -> fi -> lv on the shared clock: ee shares up to GREEN with fi and lets it relay, fi shares GREEN with lv.
    /// lv either knows ee only as a trusted origin (keys from the announcement fi carries) or also peers with it.
    /// </summary>
    private TestFederation RelayFederation(bool lvPeersWithEe)
    {
        var f = TestFederation.Create("ee", "fi", "lv");
        f.Peer("ee", "fi", new Gateway.Configuration.OutboundPolicyConfig { TlpCeiling = "GREEN", AllowRelay = true });
        f.Peer("fi", "ee");
        f.PeerBoth("fi", "lv", new Gateway.Configuration.OutboundPolicyConfig { TlpCeiling = "GREEN" });
        if (lvPeersWithEe)
        {
            f.PeerBoth("ee", "lv", new Gateway.Configuration.OutboundPolicyConfig { TlpCeiling = "CLEAR" });
        }
        else
        {
            f.TrustOrigin("lv", "ee");
        }

        foreach (var nation in f.Nations.Values)
        {
            nation.Time = _clock;
        }

        return f;
    }

    private static async Task<string> RelayAsync(TestFederation f, string ip)
    {
        await f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, ip, Tlp.Green));
        await WaitUntilAsync(async () => await f.GetAsync("lv", IndicatorType.Ipv4, ip) is not null, $"lv has {ip} relayed by fi", TimeSpan.FromSeconds(30));
        var id = IdOf(IndicatorType.Ipv4, ip);
        await foreach (var entry in f["lv"].Node!.Runtime.Store.Audit.TailAsync(10_000, CancellationToken.None))
        {
            if (entry.Kind == "received" && entry.Decision == "accepted" && entry.DetailsJson.Contains(id, StringComparison.Ordinal))
            {
                using var details = JsonDocument.Parse(entry.DetailsJson);
                return details.RootElement.GetProperty("signerKeyId").GetString()!;
            }
        }

        Assert.Fail($"lv has no received entry for {ip}");
        return "";
    }

    private string KeysDirectory(string code) => Path.Combine(_f[code].Directory, "keys");

    /// <summary>Schedules a rotation on the nodes as <c>keys rotate</c> does and reloads them; returns the not-before.</summary>
    private DateTimeOffset ScheduleRotation(params string[] codes)
    {
        var now = _clock.GetUtcNow();
        var notBefore = now + AnnounceAhead;
        foreach (var code in codes)
        {
            Assert.NotEmpty(ContentKeyStore.Schedule(KeysDirectory(code), now, notBefore));
            Assert.True(_f[code].Node!.Runtime.Reload().Applied);
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(notBefore.ToUnixTimeMilliseconds());
    }

    private string ActiveKeyId(string code, ContentKeyKind kind) => KeyId(code, kind, ContentKeyState.Active);

    private string PendingKeyId(string code, ContentKeyKind kind) => KeyId(code, kind, ContentKeyState.Pending);

    private string KeyId(string code, ContentKeyKind kind, ContentKeyState state) => _f[code].Node!.Runtime.Identity.ContentKeys
        .Single(k => k.File.Kind == kind && k.Suite == Hybrid && k.File.Folder == state).PublicKey.KeyIdHex;

    /// <summary>Waits until <paramref name="at"/> has fetched <paramref name="of"/>'s announcement of the key.</summary>
    private async Task<AnnouncedKey> WaitForAnnouncedAsync(string at, string of, string keyIdHex)
    {
        var directory = _f[at].Node!.Services.GetRequiredService<PeerKeyDirectory>();
        AnnouncedKey? found = null;
        await WaitUntilAsync(() =>
        {
            found = directory.Find(_f[of].GatewayId)?.Keys.FirstOrDefault(k => k.Key.KeyIdHex == keyIdHex);
            return Task.FromResult(found is not null);
        }, $"{at} fetched {of}'s announcement of key {keyIdHex}");
        return found!;
    }

    /// <summary>Ingests one indicator at ee, waits until fi stored it, and returns how its bundle was sealed and signed.</summary>
    private async Task<Received> DeliverAsync(string value)
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, value));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, value) is not null, $"fi has {value}");
        return (await ReceivedAsync("fi")).Single(r => r.IndicatorIds.Contains(IdOf(IndicatorType.Domain, value)));
    }

    private sealed record Received(IReadOnlyList<string> IndicatorIds, string RecipientKeyId, string SignerKeyId)
    {
        public int Indicators => IndicatorIds.Count;
    }

    /// <summary>Every bundle <paramref name="code"/> accepted, from its audit log (the keys used are in the details).</summary>
    private async Task<List<Received>> ReceivedAsync(string code)
    {
        var result = new List<Received>();
        await foreach (var entry in _f[code].Node!.Runtime.Store.Audit.TailAsync(100_000, CancellationToken.None))
        {
            if (entry.Kind != "received" || entry.Decision != "accepted")
            {
                continue;
            }

            using var details = JsonDocument.Parse(entry.DetailsJson);
            var root = details.RootElement;
            result.Add(new Received(
                [.. root.GetProperty("indicators").EnumerateArray().Select(e => e.GetString()!)],
                root.GetProperty("recipientKeyId").GetString()!,
                root.GetProperty("signerKeyId").GetString()!));
        }

        return result;
    }

    /// <summary>A valid bundle from ee to fi (signed with ee's current key), sealed to <paramref name="kemKey"/>, at the test clock's now.</summary>
    private Envelope CraftEnvelope(ContentPublicKey kemKey, string value) => _ee.Seal(_ee.Craft(kemKey, [value], Hybrid));

    private async Task<Ack> SendAsync(Envelope envelope)
    {
        using var ee = _f.LoadCertificate("ee", "gateway");
        using var call = _f.FederationClient("fi", ee).Exchange();
        await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = _f["ee"].GatewayId } });
        await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = envelope });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.CompleteAsync();
        return call.ResponseStream.Current.Ack;
    }
}
