using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CyberCoop.Gateway.Demo;

/// <summary>
/// The demo's hostile moment, aimed at Finland's gateway. Each attempt is built the way a real
/// attacker would have to: envelopes are sealed with the real HPKE code to Finland's announced key
/// and sent over a real mTLS Exchange stream (with Estonia's gateway certificate, as a compromised
/// middlebox or a stolen gateway key would allow); the unpinned node is a gateway of a trust domain
/// nobody pinned. The outcome is read from the ack or the handshake, and the refusal is looked up
/// in Finland's audit log.
/// </summary>
internal sealed class DemoAdversary(DevNode origin, GatewayNode originNode, DevNode target, GatewayNode targetNode, TimeProvider time)
{
    private static readonly TimeSpan AuditWait = TimeSpan.FromSeconds(3);

    /// <summary>Runs every attempt in turn, reporting each as it ends.</summary>
    public async Task<IReadOnlyList<DemoHostileSummary>> RunAsync(Action<DemoHostileSummary> report, CancellationToken ct)
    {
        var results = new List<DemoHostileSummary>();
        foreach (var attempt in new Func<CancellationToken, Task<DemoHostileSummary>>[] { ReplayAsync, ForgedSignatureAsync, TamperedHeaderAsync, UnpinnedNodeAsync, ForgedTrustBundleAsync })
        {
            var result = await attempt(ct).ConfigureAwait(false);
            results.Add(result);
            report(result);
        }

        return results;
    }

    /// <summary>The same envelope twice: the first copy is a valid delivery, the replay must change nothing.</summary>
    private async Task<DemoHostileSummary> ReplayAsync(CancellationToken ct)
    {
        var crafted = Craft("replay-probe-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)) + ".example.org", forge: false);
        var envelope = crafted.Seal(time.GetUtcNow());
        var first = await SendAsync(envelope, ct).ConfigureAwait(false);
        var replay = await SendAsync(envelope, ct).ConfigureAwait(false);
        var stored = await targetNode.Services.GetRequiredService<IIndicatorStore>().GetIndicatorAsync(crafted.IndicatorId, ct).ConfigureAwait(false);
        var storedOnce = stored is not null && stored.Observations.Count == 1 && stored.Observations[0].Count == 1;
        return new DemoHostileSummary
        {
            Attempt = "replay",
            Description = $"resend an envelope {Code(origin)} sealed for {Code(target)} (same envelope id, same bytes)",
            Target = Code(target),
            Outcome = $"first copy {Status(first)}, replay {Status(replay)}{(storedOnce ? "; stored once" : "; STORED TWICE")}",
            Refused = first.Status == AckStatus.Accepted && replay.Status == AckStatus.Duplicate && storedOnce,
            Audited = false,
        };
    }

    /// <summary>
    /// A bundle that claims the origin and names the origin's real signing key id (key ids are public: they are announced
    /// in trust bundles), but is signed with the attacker's own key: the receiver verifies with the origin's key, and fails.
    /// </summary>
    private async Task<DemoHostileSummary> ForgedSignatureAsync(CancellationToken ct)
    {
        var crafted = Craft("forged-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)) + ".example.net", forge: true);
        var envelope = crafted.Seal(time.GetUtcNow());
        return await ExpectRejectedAsync("forged-signature",
            $"bundle claiming origin {Code(origin)} and naming its signing key id, signed with an attacker's key", envelope, crafted.IndicatorId, ct).ConfigureAwait(false);
    }

    /// <summary>A valid envelope whose header was rewritten in transit (hop count and sent-at).</summary>
    private async Task<DemoHostileSummary> TamperedHeaderAsync(CancellationToken ct)
    {
        var crafted = Craft("tampered-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)) + ".example.com", forge: false);
        var envelope = crafted.Seal(time.GetUtcNow());
        var header = EnvelopeHeader.Parser.ParseFrom(envelope.Header);
        header.HopCount = 1;
        header.SentAt = Timestamp.FromDateTimeOffset(header.SentAt.ToDateTimeOffset().AddSeconds(-1));
        envelope.Header = header.ToByteString();
        return await ExpectRejectedAsync("tampered-header",
            "rewrite the header of a valid envelope in transit (hop count, sent-at)", envelope, crafted.IndicatorId, ct).ConfigureAwait(false);
    }

    /// <summary>A gateway whose root nobody pinned tries to open a Federation exchange.</summary>
    private async Task<DemoHostileSummary> UnpinnedNodeAsync(CancellationToken ct)
    {
        var since = time.GetUtcNow().AddSeconds(-1);
        using var rogueRoot = CertificateAuthority.CreateRoot("rogue.cybercoop", time);
        using var rogue = rogueRoot.Issue(SpiffeId.Gateway("rogue.cybercoop", "shadow"));
        string outcome;
        var refused = false;
        try
        {
            // First contact lets it read Finland's public trust bundle, nothing else (docs/threat-model.md).
            using var channel = Channel(rogue);
            using var call = new Contracts.V1.Federation.FederationClient(channel).Exchange(deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
            await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = "spiffe://rogue.cybercoop/gateway/shadow" } }, ct).ConfigureAwait(false);
            await call.ResponseStream.MoveNext(ct).ConfigureAwait(false);
            outcome = "ANSWERED: the unpinned node was served";
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
        {
            outcome = "refused with PermissionDenied (its trust domain is not pinned; an unpinned gateway may only read the public trust bundle)";
            refused = true;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
            || (ex.StatusCode == StatusCode.Cancelled && !ct.IsCancellationRequested))
        {
            // The handshake failure reaches the client as whichever of these the HTTP/2 stack saw first: a failed connect,
            // or (when the hello was already being written) the write's cancellation. The audit check below confirms it.
            outcome = "refused at the TLS handshake (client certificate not issued by a pinned root)";
            refused = true;
        }

        var audited = await WaitForAuditAsync(e => e.Kind == AuditKinds.Denied && e.Subject is "tls" or "/cybercoop.v1.Federation/Exchange" && e.At >= since, ct).ConfigureAwait(false);
        return new DemoHostileSummary
        {
            Attempt = "unpinned-node",
            Description = "a gateway of spiffe://rogue.cybercoop (root pinned by nobody) opens a Federation exchange",
            Target = Code(target),
            Outcome = outcome + (audited ? "; audited as denied" : ""),
            Refused = refused,
            Audited = audited,
        };
    }

    /// <summary>
    /// A stolen gateway key tries to rewrite its domain's trust bundle (slip in the attacker's own root and wipe the
    /// revocations). It is handed to Finland's bundle verifier exactly as a fetch from that gateway would deliver it.
    /// </summary>
    private async Task<DemoHostileSummary> ForgedTrustBundleAsync(CancellationToken ct)
    {
        var since = time.GetUtcNow().AddSeconds(-1);
        using var stolen = PemFiles.LoadCertificateWithKey(origin.Certificate, origin.Key);
        using var attackerRoot = CertificateAuthority.CreateRoot(origin.TrustDomain, time);
        var held = targetNode.Services.GetRequiredService<ITrustSnapshot>().Current.PeerBundles.TryGetValue(origin.TrustDomain, out var h) ? h.Bundle.Sequence : 0UL;
        var rootsBefore = targetNode.Services.GetRequiredService<ITrustSnapshot>().Current.RootsOf(origin.TrustDomain).Select(SpkiPin.Compute).ToArray();
        using var originRoot = PemFiles.LoadCertificate(origin.RootCertificate);
        var bundle = Trust.TrustBundleSigner.Create(origin.TrustDomain, held + 1_000, [originRoot, attackerRoot.Certificate], [], time.GetUtcNow(), TimeSpan.FromDays(30));
        var forged = Trust.TrustBundleSigner.Sign(bundle, [attackerRoot]);
        forged.Signatures.Add(new RootSignature
        {
            // The stolen gateway key signs, claiming to be the domain's root.
            RootSpkiSha256 = ByteString.CopyFrom(SpkiPin.ComputeBytes(originRoot)),
            Signature = ByteString.CopyFrom(IdentitySignatures.Sign(SignaturePurpose.TrustBundle, forged.Bundle.Span, stolen)),
        });
        forged.KeyAnnouncements.Add(originNode.Services.GetRequiredService<INodeIdentitySource>().Current.CreateAnnouncement(time));

        var error = await targetNode.Services.GetRequiredService<PeerKeyDirectory>().AcceptAsync(origin.TrustDomain, forged, ct).ConfigureAwait(false);
        var rootsAfter = targetNode.Services.GetRequiredService<ITrustSnapshot>().Current.RootsOf(origin.TrustDomain).Select(SpkiPin.Compute).ToArray();
        var unchanged = rootsBefore.SequenceEqual(rootsAfter);
        var audited = await WaitForAuditAsync(e => e.Kind == AuditKinds.Rejected && e.Subject == "trust-bundle" && e.At >= since, ct).ConfigureAwait(false);
        return new DemoHostileSummary
        {
            Attempt = "forged-trust-bundle",
            Description = $"a stolen {Code(origin)} gateway key signs a trust bundle adding the attacker's root and dropping the revocations",
            Target = Code(target),
            Outcome = (error is null ? "ACCEPTED" : "REJECTED " + error) + (unchanged ? $"; {Code(target)} still trusts only {Code(origin)}'s real root" : "; ROOTS CHANGED"),
            Refused = error is not null && unchanged,
            Audited = audited,
        };
    }

    private async Task<DemoHostileSummary> ExpectRejectedAsync(string name, string description, Envelope envelope, string indicatorId, CancellationToken ct)
    {
        var ack = await SendAsync(envelope, ct).ConfigureAwait(false);
        var subject = "envelope:" + Convert.ToHexStringLower(ack.EnvelopeId.Span);
        var stored = await targetNode.Services.GetRequiredService<IIndicatorStore>().GetIndicatorAsync(indicatorId, ct).ConfigureAwait(false);
        var audited = await WaitForAuditAsync(e => e.Kind == AuditKinds.Rejected && e.Subject == subject, ct).ConfigureAwait(false);
        return new DemoHostileSummary
        {
            Attempt = name,
            Description = description,
            Target = Code(target),
            Outcome = Status(ack) + (stored is null ? "; nothing stored" : "; STORED"),
            Refused = ack.Status == AckStatus.Rejected && stored is null,
            Audited = audited,
        };
    }

    /// <summary>
    /// A GREEN indicator in a bundle from <c>origin</c> to <c>target</c>, signed as the origin's gateway does (or, forged,
    /// with a fresh attacker key under the origin's key id).
    /// </summary>
    private Crafted Craft(string domain, bool forge)
    {
        var directory = originNode.Services.GetRequiredService<PeerKeyDirectory>();
        var keys = directory.Find(target.Id) ?? throw new InvalidOperationException($"{Code(origin)} has not fetched {Code(target)}'s keys yet");
        var peer = originNode.Services.GetRequiredService<ITrustSnapshot>().Current.Peers[target.Id];
        var (suite, error) = SuiteNegotiation.ForPeer(originNode.Services.GetRequiredService<ITrustSnapshot>(), originNode.Services.GetRequiredService<INodeIdentitySource>(), peer, keys);
        if (error is not null)
        {
            throw new InvalidOperationException(error);
        }

        var now = time.GetUtcNow();
        var indicator = new Indicator
        {
            Id = IndicatorIds.Compute(IndicatorType.Domain, domain),
            Type = IndicatorType.Domain,
            Value = domain,
            Tlp = Tlp.Green,
            Confidence = 60,
            FirstSeen = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
            LastSeen = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
            OriginDomain = origin.TrustDomain,
        };
        indicator.Observations.Add(new Observation { Node = origin.Id, Count = 1, Confidence = 60, FirstSeen = indicator.FirstSeen, LastSeen = indicator.LastSeen });
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Origin = origin.Id,
            FirstRecipient = target.Id,
            CreatedAt = Timestamp.FromDateTimeOffset(now),
        };
        bundle.Indicators.Add(indicator);
        var bytes = bundle.ToByteArray();
        using var attackerKey = forge ? SigningKeyPair.Generate(suite) : null;
        var originKey = originNode.Services.GetRequiredService<INodeIdentitySource>().Current.SigningKey(suite);
        var key = attackerKey ?? originKey;
        var signed = new SignedBundle
        {
            Bundle = ByteString.CopyFrom(bytes),
            Suite = suite,
            SignerKeyId = ByteString.CopyFrom(originKey.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Bundle, bytes, key)),
        };
        var kem = SuiteNegotiation.KemKey(keys, suite, now, SuiteNegotiation.Skew(originNode.Services.GetRequiredService<ITrustSnapshot>())) ?? throw new InvalidOperationException($"{Code(target)} announced no KEM key for {suite}");
        return new Crafted(origin.Id, target.Id, signed.ToByteArray(), kem, indicator.Id);
    }

    private async Task<Ack> SendAsync(Envelope envelope, CancellationToken ct)
    {
        using var certificate = PemFiles.LoadCertificateWithKey(origin.Certificate, origin.Key);
        using var channel = Channel(certificate);
        using var call = new Contracts.V1.Federation.FederationClient(channel).Exchange(deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
        await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = origin.Id } }, ct).ConfigureAwait(false);
        await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = envelope }, ct).ConfigureAwait(false);
        if (!await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"{Code(target)} closed the Exchange stream without an ack");
        }

        var ack = call.ResponseStream.Current.Ack ?? throw new InvalidOperationException($"{Code(target)} answered without an ack");
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return ack;
    }

    /// <summary>A channel to the target presenting <paramref name="certificate"/>; the target's server certificate is checked against its root.</summary>
    private GrpcChannel Channel(X509Certificate2 certificate)
    {
        var targetRoot = PemFiles.LoadCertificate(target.RootCertificate);
        var validator = new ChainValidator([new TrustAnchor(target.TrustDomain, targetRoot, target.RootPin)], time: time);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [certificate],
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    validator.Validate(presented as X509Certificate2, null, CertificatePurpose.Server).IsValid,
            },
        };
        return GrpcChannel.ForAddress(target.Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    private async Task<bool> WaitForAuditAsync(Func<AuditEntry, bool> match, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + AuditWait;
        while (true)
        {
            await foreach (var entry in targetNode.Services.GetRequiredService<AuditLog>().TailAsync(200, ct).ConfigureAwait(false))
            {
                if (match(entry))
                {
                    return true;
                }
            }

            if (time.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct).ConfigureAwait(false);
        }
    }

    private static string Status(Ack ack) =>
        ack.Status switch
        {
            AckStatus.Accepted => "ACCEPTED",
            AckStatus.Duplicate => "DUPLICATE",
            AckStatus.Rejected => "REJECTED " + DemoAuditFeed.Codes(ack.Reason),
            _ => ack.Status.ToString(),
        };

    private static string Code(DevNode node) => DemoFederation.CodeOf(node.TrustDomain);

    private sealed record Crafted(string Sender, string Recipient, byte[] SignedBundle, ContentPublicKey RecipientKey, string IndicatorId)
    {
        public Envelope Seal(DateTimeOffset sentAt)
        {
            var header = new EnvelopeHeader
            {
                Version = 1,
                EnvelopeId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
                Sender = Sender,
                Recipient = Recipient,
                SentAt = Timestamp.FromDateTimeOffset(sentAt),
                HopCount = 0,
            };
            return EnvelopeCrypto.Seal(header, SignedBundle, RecipientKey);
        }
    }
}
