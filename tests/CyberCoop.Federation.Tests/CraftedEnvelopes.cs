using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Federation;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Envelopes made by hand as a sender gateway would make them (its real signing key, the recipient's announced KEM
/// key), so a test can put many on one Exchange stream, in any order, with chosen faults. "Now" (bundle creation,
/// first/last seen, sending time, choice of the announced KEM key) comes from <paramref name="time"/>, the system
/// clock unless a test moves time with its own provider.
/// </summary>
internal sealed class CraftedEnvelopes(TestFederation f, string sender, string recipient, TimeProvider? time = null)
{
    /// <summary>The suite crafted bundles use unless a test names another.</summary>
    public const Suite DefaultSuite = Suite.X25519Aes256GcmEd25519;

    private TimeProvider Time => time ?? TimeProvider.System;

    /// <summary>A signed bundle from the sender, addressed to the recipient, and the ids of its indicators.</summary>
    internal sealed record Crafted(byte[] SignedBundle, byte[] BundleId, ContentPublicKey RecipientKey, IReadOnlyList<string> IndicatorIds);

    /// <summary>
    /// Makes a valid bundle of <paramref name="indicators"/> fresh domains, sealed later to the recipient's KEM key as
    /// the sender's directory announces it now; optionally signed with a key that is not the sender's, or with a chosen
    /// (possibly invalid) creation time.
    /// </summary>
    public async Task<Crafted> CraftAsync(int indicators = 1, SigningKeyPair? signingKey = null, Timestamp? createdAt = null, Action<Bundle>? edit = null)
    {
        var directory = f[sender].Node!.Services.GetRequiredService<PeerKeyDirectory>();
        await WaitUntilAsync(() => Task.FromResult(directory.Find(f[recipient].GatewayId) is not null), $"{sender} knows {recipient}'s keys");
        var kem = SuiteNegotiation.KemKey(directory.Find(f[recipient].GatewayId)!, DefaultSuite, Time.GetUtcNow(), TimeSpan.Zero)!;
        var values = Enumerable.Range(0, indicators).Select(_ => $"crafted-{Guid.NewGuid():n}.example").ToList();
        return Craft(kem, values, DefaultSuite, signingKey, createdAt, edit);
    }

    /// <summary>
    /// Makes a valid bundle of one domain indicator per entry of <paramref name="values"/> in <paramref name="suite"/>,
    /// signed with the sender's current key of that suite (or <paramref name="signingKey"/>), to be sealed to
    /// <paramref name="recipientKey"/>; <paramref name="edit"/> may change the bundle before it is signed.
    /// </summary>
    public Crafted Craft(ContentPublicKey recipientKey, IReadOnlyList<string> values, Suite suite = DefaultSuite, SigningKeyPair? signingKey = null, Timestamp? createdAt = null,
        Action<Bundle>? edit = null)
    {
        var now = Time.GetUtcNow();
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Origin = f[sender].GatewayId,
            FirstRecipient = f[recipient].GatewayId,
            CreatedAt = createdAt ?? Timestamp.FromDateTimeOffset(now),
        };
        var seen = Timestamp.FromDateTimeOffset(now.AddMinutes(-1));
        var ids = new List<string>();
        foreach (var value in values)
        {
            var indicator = new Indicator
            {
                Id = IdOf(IndicatorType.Domain, value),
                Type = IndicatorType.Domain,
                Value = value,
                Tlp = Tlp.Amber,
                Confidence = 70,
                FirstSeen = seen,
                LastSeen = seen,
                OriginDomain = f[sender].Domain,
            };
            indicator.Observations.Add(new Observation { Node = f[sender].GatewayId, Count = 1, Confidence = 70, FirstSeen = seen, LastSeen = seen });
            bundle.Indicators.Add(indicator);
            ids.Add(indicator.Id);
        }

        edit?.Invoke(bundle);
        var bytes = bundle.ToByteArray();
        var key = signingKey ?? f[sender].Node!.Runtime.Identity.SigningKey(suite);
        var signed = new SignedBundle
        {
            Bundle = ByteString.CopyFrom(bytes),
            Suite = suite,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Bundle, bytes, key)),
        };
        return new Crafted(signed.ToByteArray(), bundle.BundleId.ToByteArray(), recipientKey, ids);
    }

    /// <summary>
    /// Seals <paramref name="crafted"/> in a fresh envelope (new envelope id) sent now, or at <paramref name="sentAt"/>;
    /// a test may put another sender or recipient in the header, seal to another key than the crafted one, or reuse an
    /// envelope id (a re-send).
    /// </summary>
    public Envelope Seal(Crafted crafted, DateTimeOffset? sentAt = null, string? headerSender = null, string? headerRecipient = null, ContentPublicKey? recipientKey = null,
        byte[]? envelopeId = null)
    {
        var header = new EnvelopeHeader
        {
            Version = 1,
            EnvelopeId = ByteString.CopyFrom(envelopeId ?? RandomNumberGenerator.GetBytes(16)),
            Sender = headerSender ?? f[sender].GatewayId,
            Recipient = headerRecipient ?? f[recipient].GatewayId,
            SentAt = Timestamp.FromDateTimeOffset(sentAt ?? Time.GetUtcNow()),
            HopCount = 0,
        };
        return EnvelopeCrypto.Seal(header, crafted.SignedBundle, recipientKey ?? crafted.RecipientKey);
    }

    /// <summary>
    /// Seals any payload (a lifecycle message, say) from the sender to the recipient's current KEM key in a fresh envelope
    /// sent now, with the given payload kind and hop count.
    /// </summary>
    public async Task<Envelope> SealPayloadAsync(byte[] payload, PayloadKind kind, uint hopCount = 0)
    {
        var directory = f[sender].Node!.Services.GetRequiredService<PeerKeyDirectory>();
        await WaitUntilAsync(() => Task.FromResult(directory.Find(f[recipient].GatewayId) is not null), $"{sender} knows {recipient}'s keys");
        var kem = SuiteNegotiation.KemKey(directory.Find(f[recipient].GatewayId)!, DefaultSuite, Time.GetUtcNow(), TimeSpan.Zero)!;
        var header = new EnvelopeHeader
        {
            Version = 1,
            EnvelopeId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Sender = f[sender].GatewayId,
            Recipient = f[recipient].GatewayId,
            SentAt = Timestamp.FromDateTimeOffset(Time.GetUtcNow()),
            HopCount = hopCount,
            PayloadKind = kind,
        };
        return EnvelopeCrypto.Seal(header, payload, kem);
    }

    /// <summary>The envelope id of a sealed envelope (from its header).</summary>
    public static string EnvelopeIdOf(Envelope envelope) => Convert.ToHexStringLower(EnvelopeCrypto.ParseHeader(envelope).EnvelopeId.Span);

    /// <summary>Flips one bit in the middle of the ciphertext.</summary>
    public static Envelope Tamper(Envelope envelope)
    {
        var bytes = envelope.Ciphertext.ToByteArray();
        bytes[bytes.Length / 2] ^= 0x01;
        return new Envelope { Header = envelope.Header, Ciphertext = ByteString.CopyFrom(bytes) };
    }

    /// <summary>
    /// Opens one Exchange stream from the sender (its gateway certificate), writes every envelope without waiting for
    /// any ack, then reads all acks (in the order they come).
    /// </summary>
    public async Task<IReadOnlyList<Ack>> ExchangeAsync(IReadOnlyList<Envelope> envelopes)
    {
        using var certificate = f.LoadCertificate(sender, "gateway");
        using var call = f.FederationClient(recipient, certificate).Exchange(deadline: DateTime.UtcNow.AddSeconds(60));
        var writes = Task.Run(async () =>
        {
            await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = f[sender].GatewayId } });
            foreach (var envelope in envelopes)
            {
                await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = envelope });
            }

            await call.RequestStream.CompleteAsync();
        });
        var acks = new List<Ack>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            acks.Add(call.ResponseStream.Current.Ack);
        }

        await writes;
        return acks;
    }
}
