using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// Receives the lifecycle payloads of envelopes that passed the envelope checks (<see cref="EnvelopeReceiver"/>: sender,
/// recipient, suite, key, replay window, envelope id, decryption). A withdrawal is applied only when it is well formed,
/// its origin's signature verifies under the withdrawal context with the key the origin announced, the hop rules hold
/// (from the origin itself at hop 0; relayed by someone else after), and the origin is one this node got the
/// indicator from. It is recorded once per (origin, indicator) — a second copy by another path or a replay changes
/// nothing and is audited — and relayed, in the same transaction, to every peer this node had given that origin's
/// indicator. Sighting reports are handled by <see cref="SightingsReceiver"/>.
/// </summary>
internal sealed class LifecycleReceiver(IIndicatorStore indicatorStore, IQuarantineStore quarantineStore, ILifecycleStore lifecycleStore, ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, IOutboxSignal outboxSignal, PeerKeyDirectory directory, SightingsReceiver sightings, ILogger<LifecycleReceiver> logger)
{
    /// <summary>Longest relay path of a withdrawal (the hop count of the last envelope), whatever the nodes' own hop limits.</summary>
    public const int MaxWithdrawalHops = BundleProtection.MaxRelayHops;

    /// <summary>Largest withdrawal reason, in UTF-8 bytes.</summary>
    public const int MaxReasonBytes = 1024;

    /// <summary>Length of withdrawal and report ids.</summary>
    public const int IdLength = 16;

    /// <summary>Checks, verifies and commits one lifecycle payload (its commit enqueued on <paramref name="turn"/>).</summary>
    public Task<ReceiveOutcome> ReceiveAsync(PeerSettings sender, EnvelopeHeader header, byte[] plaintext, CommitTurn turn, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(header);
        return header.PayloadKind switch
        {
            PayloadKind.Withdrawal => ReceiveWithdrawalAsync(sender, header, plaintext, turn, ct),
            PayloadKind.SightingReport => sightings.ReceiveAsync(sender, header, plaintext, turn, ct),
            _ => Task.FromResult(ReceiveOutcome.Reject(RejectReason.UnknownPayloadKind, $"payload kind {(int)header.PayloadKind} is not one this node knows")),
        };
    }

    private async Task<ReceiveOutcome> ReceiveWithdrawalAsync(PeerSettings sender, EnvelopeHeader header, byte[] plaintext, CommitTurn turn, CancellationToken ct)
    {
        SignedWithdrawal signed;
        Withdrawal withdrawal;
        try
        {
            signed = SignedWithdrawal.Parser.ParseFrom(plaintext);
            withdrawal = Withdrawal.Parser.ParseFrom(signed.Withdrawal);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedWithdrawal, ex.Message);
        }

        var formError = CheckForm(withdrawal, time.GetUtcNow() + TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.MaxClockSkewSeconds));
        if (formError is not null)
        {
            return ReceiveOutcome.Reject(RejectReason.MalformedWithdrawal, formError);
        }

        var origin = SpiffeId.Parse(withdrawal.Origin);
        var self = nodeIdentity.Current.IdText;
        if (header.HopCount == 0 && withdrawal.Origin != sender.IdText)
        {
            return ReceiveOutcome.Reject(RejectReason.OriginMismatch, $"hop 0 but the withdrawal's origin is '{withdrawal.Origin}', not the sender");
        }

        if (header.HopCount > 0)
        {
            if (withdrawal.Origin == sender.IdText)
            {
                return ReceiveOutcome.Reject(RejectReason.RelayNotEntitled, "a relayed withdrawal cannot come from its own origin");
            }

            if (withdrawal.Origin == self)
            {
                return ReceiveOutcome.Reject(RejectReason.Loop, "this node is the withdrawal's origin");
            }

            if (header.HopCount > MaxWithdrawalHops)
            {
                return ReceiveOutcome.Reject(RejectReason.HopLimit, $"hop {header.HopCount} exceeds the {MaxWithdrawalHops} hops a withdrawal may travel");
            }
        }

        var (key, keyError) = OriginKeyResolver.Resolve(trustSnapshot, directory, origin, signed.SignerKeyId.Memory, header.HopCount, signed.OriginAnnouncement);
        if (key is null)
        {
            return keyError!;
        }

        if (Suites.SignedWith(key.Key.Algorithm) != signed.Suite)
        {
            return ReceiveOutcome.Reject(RejectReason.BadSignature, "the signature suite does not match the origin's key");
        }

        var withdrawnAt = withdrawal.WithdrawnAt.ToDateTimeOffset();
        if (!key.ValidAt(withdrawnAt, TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.MaxClockSkewSeconds)))
        {
            return ReceiveOutcome.Reject(RejectReason.OriginKeyNotValid, $"the origin's signing key {key.Key.KeyIdHex} is announced for {key.NotBefore:O} to " +
                $"{key.NotAfter:O}, but the withdrawal was made at {withdrawnAt:O}");
        }

        if (!ContentSignatures.Verify(SignaturePurpose.Withdrawal, signed.Withdrawal.Span, signed.Signature.Span, key.Key))
        {
            return ReceiveOutcome.Reject(RejectReason.BadSignature, "the origin's signature over the withdrawal does not verify");
        }

        if (!await IsFromOriginAsync(withdrawal, ct).ConfigureAwait(false))
        {
            return ReceiveOutcome.Reject(RejectReason.NotOrigin, $"this node holds no indicator {withdrawal.IndicatorId} published by '{withdrawal.Origin}', " +
                "so that node cannot withdraw it here");
        }

        var now = time.GetUtcNow();
        var record = new WithdrawalRecord(withdrawal.Origin, withdrawal.IndicatorId, withdrawal.WithdrawalId.ToByteArray(), withdrawal.Reason, withdrawnAt, now, sender.IdText);
        byte[]? payload = null;
        var nextHop = (int)header.HopCount + 1;
        OutboxItem? Relay(string peer)
        {
            if (peer == sender.IdText || peer == withdrawal.Origin || !trustSnapshot.Current.Peers.ContainsKey(peer) || nextHop > MaxWithdrawalHops)
            {
                return null;
            }

            payload ??= RelayPayload(signed, withdrawal.Origin);
            return new OutboxItem(peer, Relaying.RandomId(), payload, 0, now, nextHop, PayloadKind.Withdrawal);
        }

        AuditEntry[] audit =
        [
            new AuditEntry
            {
                Kind = AuditKinds.Withdrawn,
                Actor = sender.IdText,
                Subject = withdrawal.IndicatorId,
                Decision = "withdrawn-by-origin",
                Reason = $"origin {withdrawal.Origin}, hop {header.HopCount}: {withdrawal.Reason}",
                DetailsJson = LifecycleAudit.Details(
                    ("withdrawal", Convert.ToHexStringLower(withdrawal.WithdrawalId.Span)),
                    ("signer_key_id", Convert.ToHexStringLower(signed.SignerKeyId.Span)),
                    ("type", IndicatorTypeNames.ToName(withdrawal.Type)),
                    ("value", withdrawal.Value)),
            },
        ];
        var pending = await turn.EnqueueAsync(() => lifecycleStore.CommitReceivedWithdrawalAsync(header.EnvelopeId.Memory, record, Relay, audit, ct)).ConfigureAwait(false);
        var (result, relayedTo) = await pending.ConfigureAwait(false);
        switch (result)
        {
            case WithdrawalCommit.DuplicateEnvelope:
                return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: envelope already committed");
            case WithdrawalCommit.AlreadyWithdrawn:
                return new ReceiveOutcome(AckStatus.Duplicate, "duplicate: withdrawal already applied");
        }

        LifecycleLog.WithdrawalApplied(logger, withdrawal.IndicatorId, withdrawal.Origin, sender.IdText, header.HopCount, relayedTo.Count);
        if (relayedTo.Count > 0)
        {
            outboxSignal.NotifyOutbox();
        }

        return new ReceiveOutcome(AckStatus.Accepted, "");
    }

    /// <summary>The first problem of a withdrawal's fields, or null. <paramref name="latest"/>: the latest acceptable withdrawn-at.</summary>
    internal static string? CheckForm(Withdrawal withdrawal, DateTimeOffset latest)
    {
        if (withdrawal.WithdrawalId.Length != IdLength)
        {
            return $"withdrawal_id must be {IdLength} bytes, got {withdrawal.WithdrawalId.Length}";
        }

        if (!SpiffeId.TryParse(withdrawal.Origin, out var origin, out var originError) || origin.Kind != WorkloadKind.Gateway)
        {
            return "origin is not a gateway SPIFFE id: " + (originError ?? withdrawal.Origin);
        }

        if (!Enum.IsDefined(withdrawal.Type) || withdrawal.Type == IndicatorType.Unspecified)
        {
            return $"type {(int)withdrawal.Type} is not an indicator type";
        }

        var normalized = IndicatorNormalizer.Normalize(withdrawal.Type, withdrawal.Value);
        if (!normalized.Ok || normalized.Value != withdrawal.Value)
        {
            return "value is not the canonical form of a " + IndicatorTypeNames.ToName(withdrawal.Type);
        }

        if (withdrawal.IndicatorId != IndicatorIds.Compute(withdrawal.Type, withdrawal.Value))
        {
            return "indicator_id is not the id of its type and value";
        }

        if (withdrawal.Reason.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(withdrawal.Reason) > MaxReasonBytes)
        {
            return $"reason must be 1-{MaxReasonBytes} UTF-8 bytes";
        }

        if (withdrawal.WithdrawnAt is null)
        {
            return "withdrawn_at is missing";
        }

        return IndicatorLimits.CheckTimestamp(withdrawal.WithdrawnAt, "withdrawn_at", latest, out _);
    }

    /// <summary>True when this node got the indicator from the withdrawal's origin (stored with its observation, or quarantined).</summary>
    private async Task<bool> IsFromOriginAsync(Withdrawal withdrawal, CancellationToken ct)
    {
        var stored = await indicatorStore.GetIndicatorAsync(withdrawal.IndicatorId, ct).ConfigureAwait(false);
        if (stored is not null && stored.Observations.Any(o => o.Node == withdrawal.Origin))
        {
            return true;
        }

        return await quarantineStore.IsQuarantinedFromAsync(withdrawal.IndicatorId, withdrawal.Origin, ct).ConfigureAwait(false);
    }

    /// <summary>The signed withdrawal as relayed: unchanged, plus the origin's key announcement for the next hop.</summary>
    private byte[] RelayPayload(SignedWithdrawal signed, string origin)
    {
        if (signed.OriginAnnouncement is null && directory.Find(origin) is { } keys)
        {
            var copy = signed.Clone();
            copy.OriginAnnouncement = keys.Signed;
            return copy.ToByteArray();
        }

        return signed.ToByteArray();
    }
}
