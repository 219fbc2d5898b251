using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Inbound;

/// <summary>
/// Takes one envelope from a peer through every check, in this order: header well-formed; sender
/// equals the mTLS identity; recipient is this node; suite not below the minimum; recipient key
/// known; sent-at inside the replay window; then open (HPKE); then verify the origin's signature with the
/// origin's announced key (an envelope id already committed is answered DUPLICATE here, if the copy carries the bundle
/// committed under it, and refused otherwise); then relay entitlement and inbound
/// policy per indicator; then commit (exactly once by envelope id and by origin bundle id); then
/// relay CLEAR/GREEN content the origin allowed to relay. Every rejection is audited with its reason.
/// </summary>
/// <remarks>
/// Several envelopes of one stream may be in these checks at once (<see cref="OrderedStreamPipeline"/>); each enqueues
/// its commit only on its <see cref="CommitTurn"/>, so commits reach the store in arrival order. The replay check may
/// pass for a copy whose earlier twin is still committing: the commit itself inserts the envelope id with
/// ON CONFLICT DO NOTHING, so the second copy is answered DUPLICATE and changes nothing.
/// </remarks>
internal sealed class EnvelopeReceiver(
    IReceiveStore receiveStore,
    ITrustSnapshot trustSnapshot,
    INodeIdentitySource nodeIdentity,
    TimeProvider time,
    NodeMetrics metrics,
    IAuditSink auditSink,
    IOutboxSignal outboxSignal,
    PeerKeyDirectory directory,
    Lifecycle.LifecycleReceiver lifecycle,
    ILogger<EnvelopeReceiver> logger)
{
    /// <summary>Largest header accepted.</summary>
    public const int MaxHeaderBytes = 4 * 1024;

    private readonly InboundPolicyEvaluator _inbound = new(time);

    /// <summary>
    /// Receives one envelope from <paramref name="sender"/> (already authorized by mTLS); its commit is enqueued on
    /// <paramref name="turn"/>. Completes after the commit or the final rejection.
    /// </summary>
    public async Task<(ReceiveOutcome Outcome, Receipt? Receipt, byte[] EnvelopeId)> ReceiveAsync(PeerSettings sender, Envelope envelope, CommitTurn turn, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(turn);
        var envelopeId = Array.Empty<byte>();
        var outcome = await CheckAndCommitAsync(sender, envelope, turn, id => envelopeId = id, ct).ConfigureAwait(false);
        if (outcome.Status == AckStatus.Rejected)
        {
            RecordRejection(sender, envelopeId, outcome);
            return (outcome, null, envelopeId);
        }

        return (outcome, CreateReceipt(sender, envelope, envelopeId, outcome), envelopeId);
    }

    /// <summary>
    /// Refuses an envelope that arrived on a stream before its <c>hello</c> (docs/protocol.md §3.1): nothing of it is
    /// opened or stored; the rejection is "retry later", so a sender keeps it and re-sends it on a stream that says hello.
    /// </summary>
    public (ReceiveOutcome Outcome, byte[] EnvelopeId) RejectBeforeHello(PeerSettings sender, Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        byte[] envelopeId;
        try
        {
            envelopeId = EnvelopeCrypto.ParseHeader(envelope).EnvelopeId.ToByteArray();
        }
        catch (CryptoFormatException)
        {
            envelopeId = [];
        }

        var outcome = ReceiveOutcome.Reject(RejectReason.HelloRequired, "the stream's first message must be hello; open a new stream, send hello, then re-send");
        RecordRejection(sender, envelopeId, outcome);
        return (outcome, envelopeId);
    }

    private void RecordRejection(PeerSettings sender, byte[] envelopeId, ReceiveOutcome outcome)
    {
        var idText = Convert.ToHexStringLower(envelopeId);
        Interlocked.Increment(ref metrics.Peer(sender.IdText).EnvelopesRejected);
        GatewayLog.EnvelopeRejected(logger, idText, sender.IdText, outcome.Reason);
        auditSink.AuditLater(new AuditEntry
        {
            Kind = AuditKinds.Rejected,
            Actor = sender.IdText,
            Subject = "envelope:" + idText,
            Decision = "rejected",
            Reason = outcome.Reason,
        });
    }

    private async Task<ReceiveOutcome> CheckAndCommitAsync(PeerSettings sender, Envelope envelope, CommitTurn turn, Action<byte[]> reportId, CancellationToken ct)
    {
        var self = nodeIdentity.Current;
        var node = trustSnapshot.Current.Config.Config.Node;
        if (envelope.Header.Length is 0 or > MaxHeaderBytes)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedHeader, "header must be 1-4096 bytes");
        }

        EnvelopeHeader header;
        try
        {
            header = EnvelopeCrypto.ParseHeader(envelope);
        }
        catch (CryptoFormatException ex)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedHeader, ex.Message);
        }

        reportId(header.EnvelopeId.ToByteArray());
        if (header.Sender != sender.IdText)
        {
            return ReceiveOutcome.Reject(RejectReason.SenderMismatch, $"header names '{header.Sender}' but the mTLS peer is '{sender.IdText}'");
        }

        if (header.Recipient != self.IdText)
        {
            return ReceiveOutcome.Reject(RejectReason.RecipientMismatch, $"envelope is addressed to '{header.Recipient}'");
        }

        var minimum = Suites.Parse(sender.PinnedSuite is { } pinned ? Suites.Name(pinned) : node.MinimumSuite);
        if (Suites.Strength(header.Suite) < Suites.Strength(minimum))
        {
            return ReceiveOutcome.Reject(RejectReason.SuiteDowngrade, $"{header.Suite} is below the required {minimum}");
        }

        var key = self.FindKemKey(header.RecipientKeyId.Span);
        if (key is null)
        {
            return ReceiveOutcome.Reject(RejectReason.UnknownKey, "the recipient key id is not one of this node's keys");
        }

        var now = time.GetUtcNow();
        var skew = TimeSpan.FromSeconds(node.MaxClockSkewSeconds);
        if (key.File.NotAfter is { } keyNotAfter && keyNotAfter + skew < now)
        {
            // Pending keys open (early senders), retired ones too within their grace (late senders); past it, never.
            return ReceiveOutcome.Reject(RejectReason.KeyExpired, $"recipient key {key.PublicKey.KeyIdHex} was retired and usable until {keyNotAfter:O}; " +
                "fetch this node's trust bundle again and seal to its current key");
        }

        if (header.SentAt is null || !TrustBundleVerifier.IsValidTimestamp(header.SentAt))
        {
            // A missing sent_at is malformed (final), not "stale" (which the sender would retry for ever).
            return ReceiveOutcome.Reject(RejectReason.MalformedHeader, header.SentAt is null ? "sent_at is missing" : "sent_at is not a valid timestamp");
        }

        var sentAt = header.SentAt.ToDateTimeOffset();
        // The sender seals at send time, so sent_at - now is its clock offset minus the transit: shown by `status`.
        metrics.Peer(sender.IdText).ObserveClock(sentAt - now, now);
        if (sentAt < now.AddSeconds(-node.ReplayWindowSeconds))
        {
            return ReceiveOutcome.Reject(RejectReason.Stale,
                $"sent at {sentAt:O}, {(now - sentAt).TotalSeconds:F0}s behind this node's clock, outside the {node.ReplayWindowSeconds}s replay window " +
                "(node.replayWindowSeconds): clock skew (the sender's clock is behind) or an envelope held that long; check NTP on both nodes");
        }

        if (sentAt > now.AddSeconds(node.MaxClockSkewSeconds))
        {
            return ReceiveOutcome.Reject(RejectReason.Future,
                $"sent at {sentAt:O}, {(sentAt - now).TotalSeconds:F0}s ahead of this node's clock: clock skew beyond the {node.MaxClockSkewSeconds}s " +
                "allowed (node.maxClockSkewSeconds); check NTP on both nodes");
        }

        // A committed envelope id is answered DUPLICATE only for a copy that opens, verifies and carries the bundle
        // committed under that id (a re-send is sealed afresh, so its bytes differ from the first copy's): garbage or
        // other content under a known id is refused, never acknowledged with a signed receipt.
        var seen = await receiveStore.FindSeenEnvelopeAsync(header.EnvelopeId.Memory, ct).ConfigureAwait(false);

        byte[] plaintext;
        try
        {
            plaintext = BundleProtection.Open(envelope, key.Kem!).Plaintext;
        }
        catch (Exception ex) when (ex is CryptographicException or CryptoFormatException)
        {
            return ReceiveOutcome.Reject(RejectReason.DecryptFailed, "the envelope does not open with this node's key (tampered, or sealed for someone else)");
        }

        if (header.PayloadKind != PayloadKind.Bundle)
        {
            // Withdrawals and sighting reports: the same checks up to here, their own verification and commit after.
            return await lifecycle.ReceiveAsync(sender, header, plaintext, turn, ct).ConfigureAwait(false);
        }

        if (!BundleProtection.TryRead(plaintext, out var unverified, out var formatProblem))
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedBundle, formatProblem);
        }

        if (!TrustBundleVerifier.IsValidTimestamp(unverified.CreatedAt))
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedBundle, "created_at is not a valid timestamp");
        }

        var (verified, originError) = await VerifyOriginAsync(sender, header, unverified, ct).ConfigureAwait(false);
        if (verified is null)
        {
            return originError!;
        }

        var bundle = verified.Bundle;

        if (seen is not null)
        {
            return seen.Carries(bundle.Origin, bundle.BundleId.Span)
                ? new ReceiveOutcome(AckStatus.Duplicate, "duplicate: envelope already committed")
                : EnvelopeIdReused(bundle);
        }

        return await ApplyAndCommitAsync(sender, header, verified, turn, ct).ConfigureAwait(false);
    }

    private async Task<(VerifiedBundle? Bundle, ReceiveOutcome? Error)> VerifyOriginAsync(PeerSettings sender, EnvelopeHeader header, UnverifiedBundle bundle, CancellationToken ct)
    {
        if (!SpiffeId.TryParse(bundle.Origin, out var origin, out var originError) || origin.Kind != WorkloadKind.Gateway)
        {
            return Refused(ReceiveOutcome.Reject(RejectReason.MalformedBundle, "origin is not a gateway SPIFFE id: " + originError));
        }

        if (header.HopCount == 0)
        {
            if (bundle.Origin != sender.IdText)
            {
                return Refused(ReceiveOutcome.Reject(RejectReason.OriginMismatch, $"hop 0 but the bundle's origin is '{bundle.Origin}', not the sender"));
            }

            if (bundle.FirstRecipient != nodeIdentity.Current.IdText)
            {
                return Refused(ReceiveOutcome.Reject(RejectReason.RecipientMismatch, $"the origin addressed this bundle to '{bundle.FirstRecipient}'"));
            }
        }
        else
        {
            if (bundle.Origin == sender.IdText)
            {
                return Refused(ReceiveOutcome.Reject(RejectReason.RelayNotEntitled, "a relayed envelope cannot come from its own origin"));
            }

            if (!bundle.RelayAllowed)
            {
                return Refused(ReceiveOutcome.Reject(RejectReason.RelayNotEntitled, "the origin did not allow this bundle to be relayed"));
            }

            if (header.HopCount > bundle.MaxHops)
            {
                return Refused(ReceiveOutcome.Reject(RejectReason.HopLimit, $"hop {header.HopCount} exceeds the origin's limit of {bundle.MaxHops}"));
            }

            if (bundle.Origin == nodeIdentity.Current.IdText)
            {
                return Refused(ReceiveOutcome.Reject(RejectReason.Loop, "this node is the bundle's origin"));
            }
        }

        var (signingKey, keyError) = OriginKeyResolver.Resolve(trustSnapshot, directory, origin, bundle.Signed.SignerKeyId.Memory, header.HopCount, bundle.Signed.OriginAnnouncement);
        if (signingKey is null)
        {
            return (null, keyError);
        }

        var createdAt = bundle.CreatedAt?.ToDateTimeOffset() ?? DateTimeOffset.MinValue;
        if (!signingKey.ValidAt(createdAt, TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.MaxClockSkewSeconds)))
        {
            return Refused(ReceiveOutcome.Reject(RejectReason.OriginKeyNotValid, $"the origin's signing key {signingKey.Key.KeyIdHex} is announced for {signingKey.NotBefore:O} to " +
                $"{signingKey.NotAfter:O}, but the bundle was created at {createdAt:O}"));
        }

        var verified = BundleProtection.Verify(bundle, signingKey.Key, out var problem);
        return verified is null ? Refused(ReceiveOutcome.Reject(RejectReason.BadSignature, problem!)) : (verified, null);

        static (VerifiedBundle?, ReceiveOutcome?) Refused(ReceiveOutcome outcome) => (null, outcome);
    }

    private static ReceiveOutcome EnvelopeIdReused(Bundle bundle) => ReceiveOutcome.Reject(RejectReason.EnvelopeIdReused,
        $"this envelope id was committed with another bundle than {Convert.ToHexStringLower(bundle.BundleId.Span)} of '{bundle.Origin}'; " +
        "a re-send must carry the same bundle, new content needs a new envelope id");

    private async Task<ReceiveOutcome> ApplyAndCommitAsync(PeerSettings sender, EnvelopeHeader header, VerifiedBundle verified, CommitTurn turn, CancellationToken ct)
    {
        var bundle = verified.Bundle;
        var relay = new RelayContext
        {
            HopCount = (int)header.HopCount,
            BundleRelayAllowed = bundle.RelayAllowed,
            Origin = bundle.Origin,
            Sender = sender.IdText,
            MaxHops = (int)bundle.MaxHops,
        };
        var accepted = new List<Indicator>();
        var quarantined = new List<QuarantinedIndicator>();
        var audit = new List<AuditEntry>();
        var rejected = 0;
        foreach (var indicator in bundle.Indicators)
        {
            var decision = _inbound.Evaluate(indicator, sender.Inbound, relay);
            if (decision.Action == InboundAction.Reject || decision.Indicator is null)
            {
                rejected++;
                audit.Add(new AuditEntry { Kind = AuditKinds.Rejected, Actor = sender.IdText, Subject = indicator.Id, Decision = "rejected", Reason = $"{decision.Reason}: {decision.Detail}" });
                continue;
            }

            if (decision.Action == InboundAction.Quarantine)
            {
                quarantined.Add(new QuarantinedIndicator(decision.Indicator, $"{decision.Reason}: {decision.Detail}"));
                audit.Add(new AuditEntry { Kind = AuditKinds.Quarantined, Actor = sender.IdText, Subject = indicator.Id, Decision = "quarantined", Reason = $"{decision.Reason}: {decision.Detail}" });
            }
            else
            {
                accepted.Add(decision.Indicator);
            }
        }

        if (accepted.Count > 0)
        {
            // One entry for everything accepted from this bundle (ids in the details), like the sender's "shared"
            // entry per bundle; rejections and quarantines stay one entry per indicator. Per-indicator "received"
            // rows were a third of the receiver's commit time (measured with the load tool's stage profile).
            audit.Add(new AuditEntry
            {
                Kind = AuditKinds.Received,
                Actor = sender.IdText,
                Subject = "bundle:" + Convert.ToHexStringLower(bundle.BundleId.Span),
                Decision = "accepted",
                Reason = $"origin {bundle.Origin}, hop {header.HopCount}, {accepted.Count} indicators",
                DetailsJson = AuditDetails.Indicators(accepted.Select(i => i.Id), Convert.ToHexStringLower(header.RecipientKeyId.Span), Convert.ToHexStringLower(verified.Signed.SignerKeyId.Span)),
            });
        }

        var relays = Relaying.Plan(trustSnapshot, nodeIdentity, time, directory, sender, header, verified, accepted.Count, audit);
        // Enqueue in arrival order: never before an earlier envelope of this stream (see the remarks).
        var received = new ReceivedEnvelope
        {
            EnvelopeId = header.EnvelopeId.ToByteArray(),
            Sender = sender.IdText,
            Origin = bundle.Origin,
            BundleId = bundle.BundleId.ToByteArray(),
            Accepted = accepted,
            Quarantined = quarantined,
            Audit = audit,
            Relays = relays,
        };
        var pending = await turn.EnqueueAsync(() => receiveStore.CommitReceivedAsync(received, ct)).ConfigureAwait(false);
        var commit = await pending.ConfigureAwait(false);

        if (commit.Duplicate)
        {
            return commit.EnvelopeIdReused ? EnvelopeIdReused(bundle) : new ReceiveOutcome(AckStatus.Duplicate, "duplicate: envelope already committed");
        }

        if (commit.BundleAlreadySeen)
        {
            return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: bundle already received by another path");
        }

        // Counted in the commit's transaction too (peer_counters), so these survive a restart.
        var peerMetrics = metrics.Peer(sender.IdText);
        Interlocked.Increment(ref peerMetrics.EnvelopesReceived);
        Interlocked.Add(ref peerMetrics.IndicatorsReceived, accepted.Count);
        Interlocked.Add(ref peerMetrics.IndicatorsQuarantined, quarantined.Count);
        GatewayLog.EnvelopeAccepted(logger, Convert.ToHexStringLower(header.EnvelopeId.Span), sender.IdText, bundle.Origin, header.HopCount, accepted.Count, quarantined.Count, rejected);
        if (relays.Count > 0)
        {
            outboxSignal.NotifyOutbox();
        }

        return new ReceiveOutcome(AckStatus.Accepted, "", accepted.Count, quarantined.Count, rejected);
    }

    private Receipt CreateReceipt(PeerSettings sender, Envelope envelope, byte[] envelopeId, ReceiveOutcome outcome)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(envelope.Header.Span);
        hash.AppendData(envelope.Ciphertext.Span);
        var digest = hash.GetHashAndReset();
        var body = new ReceiptBody
        {
            EnvelopeId = ByteString.CopyFrom(envelopeId),
            EnvelopeSha256 = ByteString.CopyFrom(digest),
            Receiver = nodeIdentity.Current.IdText,
            Sender = sender.IdText,
            ReceivedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            Accepted = (uint)outcome.Accepted,
            Quarantined = (uint)outcome.Quarantined,
        }.ToByteArray();
        var suite = nodeIdentity.Current.Suites[^1];
        var key = nodeIdentity.Current.SigningKey(suite);
        return new Receipt
        {
            Body = ByteString.CopyFrom(body),
            Suite = suite,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Receipt, body, key)),
        };
    }
}
