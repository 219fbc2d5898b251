using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Federation;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// What docs/protocol.md §3.1, §5 and §6 promise about the Exchange stream, seen from outside on real gateways over
/// loopback mTLS: the hello comes first, a DUPLICATE is acknowledged only for a genuine re-send, and the hello names the
/// trust bundle sequence the sender serves.
/// </summary>
public sealed class ExchangeProtocolTests : IAsyncLifetime
{
    private TestFederation _f = null!;
    private CraftedEnvelopes _ee = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _ee = new CraftedEnvelopes(_f, "ee", "fi");
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_committed_envelope_id_with_random_ciphertext_is_refused_and_gets_no_receipt()
    {
        var crafted = await _ee.CraftAsync();
        var envelope = _ee.Seal(crafted);
        var first = await SendAsync(envelope, hello: true);
        var garbage = new Envelope { Header = envelope.Header, Ciphertext = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(envelope.Ciphertext.Length)) };

        var second = await SendAsync(garbage, hello: true);

        Assert.Equal(AckStatus.Accepted, first.Status);
        Assert.Equal(AckStatus.Rejected, second.Status);
        Assert.Equal(RejectReason.DecryptFailed, second.ReasonCode);
        Assert.StartsWith("decrypt-failed: ", second.Reason, StringComparison.Ordinal);
        Assert.Null(second.Receipt);
        await AssertAuditedAsync("rejected", CraftedEnvelopes.EnvelopeIdOf(envelope), "decrypt-failed");
    }

    [Fact]
    public async Task A_committed_envelope_id_carrying_another_bundle_is_refused_as_reused_and_its_content_is_not_stored()
    {
        var crafted = await _ee.CraftAsync();
        var envelope = _ee.Seal(crafted);
        var other = await _ee.CraftAsync();
        var id = EnvelopeCrypto.ParseHeader(envelope).EnvelopeId.ToByteArray();
        var first = await SendAsync(envelope, hello: true);

        var reused = await SendAsync(_ee.Seal(other, envelopeId: id), hello: true);

        Assert.Equal(AckStatus.Accepted, first.Status);
        Assert.Equal(AckStatus.Rejected, reused.Status);
        Assert.Equal(RejectReason.EnvelopeIdReused, reused.ReasonCode);
        Assert.False(RejectReasons.IsRetryLater(reused.ReasonCode));
        Assert.Null(reused.Receipt);
        Assert.Null(await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(other.IndicatorIds.Single(), CancellationToken.None));
    }

    [Fact]
    public async Task A_resent_copy_sealed_afresh_is_a_duplicate_whose_signed_receipt_hashes_the_copy_received()
    {
        var crafted = await _ee.CraftAsync();
        var envelope = _ee.Seal(crafted);
        var id = EnvelopeCrypto.ParseHeader(envelope).EnvelopeId.ToByteArray();
        var first = await SendAsync(envelope, hello: true);
        // A re-send after a lost ack: same envelope id and bundle, new sent_at and a fresh HPKE encapsulation.
        var resent = _ee.Seal(crafted, envelopeId: id);

        var second = await SendAsync(resent, hello: true);

        Assert.Equal(AckStatus.Accepted, first.Status);
        Assert.Equal(AckStatus.Duplicate, second.Status);
        Assert.Equal(RejectReason.Unspecified, second.ReasonCode);
        var body = ReceiptBody.Parser.ParseFrom(second.Receipt.Body);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData([.. resent.Header.Span, .. resent.Ciphertext.Span])), Convert.ToHexStringLower(body.EnvelopeSha256.Span));
        Assert.NotEqual(ReceiptBody.Parser.ParseFrom(first.Receipt.Body).EnvelopeSha256, body.EnvelopeSha256);
        var directory = _f["ee"].Node!.Services.GetRequiredService<PeerKeyDirectory>();
        var key = directory.FindSigningKey(_f["fi"].GatewayId, second.Receipt.SignerKeyId.Span);
        Assert.NotNull(key);
        Assert.True(ContentSignatures.Verify(SignaturePurpose.Receipt, second.Receipt.Body.Span, second.Receipt.Signature.Span, key.Key));
        var stored = await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(crafted.IndicatorIds.Single(), CancellationToken.None);
        Assert.Equal(1u, Assert.Single(stored!.Observations).Count);
    }

    [Fact]
    public async Task An_envelope_before_hello_is_refused_as_hello_required_to_retry_and_the_same_envelope_is_accepted_after_hello()
    {
        var crafted = await _ee.CraftAsync();
        var envelope = _ee.Seal(crafted);

        var before = await SendAsync(envelope, hello: false);
        var storedBefore = await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(crafted.IndicatorIds.Single(), CancellationToken.None);
        var after = await SendAsync(envelope, hello: true);

        Assert.Equal(AckStatus.Rejected, before.Status);
        Assert.Equal(RejectReason.HelloRequired, before.ReasonCode);
        Assert.StartsWith("hello-required: ", before.Reason, StringComparison.Ordinal);
        Assert.True(RejectReasons.IsRetryLater(before.ReasonCode), "the sender keeps the envelope and re-sends it after hello");
        Assert.Equal(CraftedEnvelopes.EnvelopeIdOf(envelope), Convert.ToHexStringLower(before.EnvelopeId.Span));
        Assert.Null(before.Receipt);
        Assert.Null(storedBefore);
        await AssertAuditedAsync("rejected", CraftedEnvelopes.EnvelopeIdOf(envelope), "hello-required");
        Assert.Equal(AckStatus.Accepted, after.Status);
    }

    [Fact]
    public async Task The_hello_of_a_real_sender_names_the_sequence_of_the_trust_bundle_it_serves()
    {
        var served = _f["ee"].Node!.Runtime.Trust.OwnBundle.Sequence;
        Assert.Equal(_f["ee"].BundleSequence, served);
        Assert.True(served >= 1);

        // ee's forwarder opens its Exchange stream to fi on start; fi records what its hello said.
        await WaitUntilAsync(
            () => Task.FromResult(Interlocked.Read(ref _f["fi"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId).HelloTrustBundleSequence) != 0),
            "ee's forwarder said hello to fi");

        Assert.Equal((long)served, Interlocked.Read(ref _f["fi"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId).HelloTrustBundleSequence));
    }

    [Fact]
    public async Task The_trust_bundle_file_is_one_signed_trust_bundle_without_announcements_and_is_served_unchanged_beside_the_announcement()
    {
        var bytes = await File.ReadAllBytesAsync(_f["ee"].BundlePath);
        var file = SignedTrustBundle.Parser.ParseFrom(bytes);
        using var fi = _f.LoadCertificate("fi", "gateway");

        var served = await _f.FederationClient("ee", fi).GetTrustBundleAsync(new GetTrustBundleRequest());

        Assert.Equal(bytes, file.ToByteArray()); // nothing but the message: no header, prefix or encoding
        Assert.Empty(file.KeyAnnouncements);
        Assert.Equal(_f["ee"].BundleSequence, TrustBundle.Parser.ParseFrom(file.Bundle).Sequence);
        Assert.Equal(file.Bundle, served.Bundle);
        Assert.Equal(file.Signatures, served.Signatures);
        var announcement = Assert.Single(served.KeyAnnouncements);
        Assert.Equal(_f["ee"].GatewayId, KeyAnnouncement.Parser.ParseFrom(announcement.Announcement).Node);
    }

    private async Task<Ack> SendAsync(Envelope envelope, bool hello)
    {
        using var ee = _f.LoadCertificate("ee", "gateway");
        using var call = _f.FederationClient("fi", ee).Exchange(deadline: DateTime.UtcNow.AddSeconds(60));
        if (hello)
        {
            await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = _f["ee"].GatewayId, TrustBundleSequence = 1 } });
        }

        await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = envelope });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.CompleteAsync();
        return call.ResponseStream.Current.Ack;
    }

    private async Task AssertAuditedAsync(string kind, string envelopeId, string code) =>
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in _f["fi"].Node!.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry.Kind == kind && entry.Subject == "envelope:" + envelopeId && entry.Reason.StartsWith(code + ":", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }, $"fi audits {kind} {code} for envelope {envelopeId}");
}
