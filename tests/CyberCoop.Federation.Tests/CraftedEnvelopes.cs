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
/// key), so a test can put many on one Exchange stream, in any order, with chosen faults.
/// </summary>
internal sealed class CraftedEnvelopes(TestFederation f, string sender, string recipient)
{
    /// <summary>A signed bundle from the sender, addressed to the recipient, and the ids of its fresh indicators.</summary>
    internal sealed record Crafted(byte[] SignedBundle, byte[] BundleId, ContentPublicKey RecipientKey, IReadOnlyList<string> IndicatorIds);

    /// <summary>Makes a valid bundle of <paramref name="indicators"/> fresh domains; optionally signed with a key that is not the sender's.</summary>
    public async Task<Crafted> CraftAsync(int indicators = 1, SigningKeyPair? signingKey = null)
    {
        var node = f[sender].Node!;
        var directory = node.Services.GetRequiredService<PeerKeyDirectory>();
        await WaitUntilAsync(() => Task.FromResult(directory.Find(f[recipient].GatewayId) is not null), $"{sender} knows {recipient}'s keys");
        var suite = Suite.X25519Aes256GcmEd25519;
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Origin = f[sender].GatewayId,
            FirstRecipient = f[recipient].GatewayId,
            CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        var seen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        var ids = new List<string>();
        for (var i = 0; i < indicators; i++)
        {
            var value = $"crafted-{Guid.NewGuid():n}.example";
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

        var bytes = bundle.ToByteArray();
        var key = signingKey ?? node.Runtime.Identity.SigningKey(suite);
        var signed = new SignedBundle
        {
            Bundle = ByteString.CopyFrom(bytes),
            Suite = suite,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Bundle, bytes, key)),
        };
        var kem = SuiteNegotiation.KemKey(directory.Find(f[recipient].GatewayId)!, suite, DateTimeOffset.UtcNow, TimeSpan.Zero)!;
        return new Crafted(signed.ToByteArray(), bundle.BundleId.ToByteArray(), kem, ids);
    }

    /// <summary>Seals <paramref name="crafted"/> in a fresh envelope (new envelope id) sent now, or at <paramref name="sentAt"/>.</summary>
    public Envelope Seal(Crafted crafted, DateTimeOffset? sentAt = null)
    {
        var header = new EnvelopeHeader
        {
            Version = 1,
            EnvelopeId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Sender = f[sender].GatewayId,
            Recipient = f[recipient].GatewayId,
            SentAt = Timestamp.FromDateTimeOffset(sentAt ?? DateTimeOffset.UtcNow),
            HopCount = 0,
        };
        return EnvelopeCrypto.Seal(header, crafted.SignedBundle, crafted.RecipientKey);
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
