using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>Why a withdrawal or suppression was refused; <see cref="Code"/> maps to the gRPC status the operator sees.</summary>
internal sealed class LifecycleRefusedException(Grpc.Core.StatusCode code, string message) : Exception(message)
{
    /// <summary>NotFound, FailedPrecondition or InvalidArgument.</summary>
    public Grpc.Core.StatusCode Code { get; } = code;
}

/// <summary>
/// The operator's lifecycle actions on this node. <see cref="WithdrawAsync"/>: only for an indicator this node originated
/// (it holds its own observation of it); the signed withdrawal is written, in one transaction with the record and the
/// audit, to the outbox of every peer that got the indicator from this node, and from then on the dispatcher never
/// originates it again. <see cref="SuppressAsync"/>: a local decision that sends nothing.
/// </summary>
internal sealed class WithdrawalService(IIndicatorStore indicatorStore, ILifecycleStore lifecycleStore, ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, IOutboxSignal outboxSignal, PeerKeyDirectory directory, ILogger<WithdrawalService> logger)
{
    /// <summary>Withdraws <paramref name="indicatorId"/>, audited as done by <paramref name="actor"/>; returns the withdrawal id and the peers it was queued to.</summary>
    public async Task<(byte[] WithdrawalId, IReadOnlyList<string> Peers)> WithdrawAsync(string indicatorId, string reason, string actor, CancellationToken ct)
    {
        CheckReason(reason);
        var self = nodeIdentity.Current.IdText;
        var indicator = await indicatorStore.GetIndicatorAsync(indicatorId, ct).ConfigureAwait(false)
            ?? throw new LifecycleRefusedException(Grpc.Core.StatusCode.NotFound, $"this node holds no indicator {indicatorId}");
        if (await indicatorStore.GetOwnViewAsync(indicator.Id, ct).ConfigureAwait(false) is null)
        {
            var origins = string.Join(", ", indicator.Observations.Select(o => o.Node).Distinct(StringComparer.Ordinal));
            throw new LifecycleRefusedException(Grpc.Core.StatusCode.FailedPrecondition,
                $"this node did not originate {indicatorId} (it came from {origins}); only an origin can withdraw it — use 'indicators suppress' for a local decision");
        }

        var now = time.GetUtcNow();
        var withdrawal = new Withdrawal
        {
            WithdrawalId = ByteString.CopyFrom(Relaying.RandomId()),
            Origin = self,
            IndicatorId = indicator.Id,
            Type = indicator.Type,
            Value = indicator.Value,
            Reason = reason,
            WithdrawnAt = Timestamp.FromDateTimeOffset(now),
        };

        var delivered = await lifecycleStore.ReadDeliveredPeersAsync(indicator.Id, self, ct).ConfigureAwait(false);
        var signedBySuite = new Dictionary<Suite, byte[]>();
        var outbox = new List<OutboxItem>();
        var skipped = new List<string>();
        foreach (var peerId in delivered)
        {
            if (!trustSnapshot.Current.Peers.TryGetValue(peerId, out var peer))
            {
                skipped.Add(peerId);
                continue;
            }

            // The suite negotiated for the peer when its keys are known (as for bundles), else this node's strongest.
            var suite = directory.Find(peerId) is { } keys && SuiteNegotiation.ForPeer(trustSnapshot, nodeIdentity, peer, keys) is { Error: null } chosen
                ? chosen.Suite
                : nodeIdentity.Current.Suites[^1];
            if (!signedBySuite.TryGetValue(suite, out var payload))
            {
                signedBySuite[suite] = payload = LifecycleSigning.Sign(nodeIdentity.Current, suite, withdrawal).ToByteArray();
            }

            outbox.Add(new OutboxItem(peerId, Relaying.RandomId(), payload, 0, now, 0, PayloadKind.Withdrawal));
        }

        var audit = new List<AuditEntry>
        {
            new()
            {
                Kind = AuditKinds.Withdrawn,
                Actor = actor,
                Subject = indicator.Id,
                Decision = "withdrawn-by-origin",
                Reason = $"{reason}; queued to {(outbox.Count == 0 ? "no peer (none received it)" : string.Join(", ", outbox.Select(o => o.Peer)))}",
                DetailsJson = LifecycleAudit.Details(
                    ("withdrawal", Convert.ToHexStringLower(withdrawal.WithdrawalId.Span)),
                    ("type", IndicatorTypeNames.ToName(indicator.Type)),
                    ("value", indicator.Value)),
            },
        };
        if (skipped.Count > 0)
        {
            audit.Add(new AuditEntry
            {
                Kind = AuditKinds.Withdrawn,
                Actor = actor,
                Subject = indicator.Id,
                Decision = "withdrawal-not-sent",
                Reason = "no longer configured peers that had received it: " + string.Join(", ", skipped),
            });
        }

        var record = new WithdrawalRecord(self, indicator.Id, withdrawal.WithdrawalId.ToByteArray(), reason, now, now, self);
        if (!await lifecycleStore.CommitOwnWithdrawalAsync(record, outbox, audit, ct).ConfigureAwait(false))
        {
            throw new LifecycleRefusedException(Grpc.Core.StatusCode.FailedPrecondition, $"{indicator.Id} is already withdrawn by this node");
        }

        LifecycleLog.Withdrew(logger, indicator.Id, outbox.Count);
        if (outbox.Count > 0)
        {
            outboxSignal.NotifyOutbox();
        }

        return (withdrawal.WithdrawalId.ToByteArray(), [.. outbox.Select(o => o.Peer)]);
    }

    /// <summary>Suppresses an indicator held here, audited as done by <paramref name="actor"/>; false when it was suppressed already.</summary>
    public async Task<bool> SuppressAsync(string indicatorId, string reason, string actor, CancellationToken ct)
    {
        CheckReason(reason);
        var indicator = await indicatorStore.GetIndicatorAsync(indicatorId, ct).ConfigureAwait(false)
            ?? throw new LifecycleRefusedException(Grpc.Core.StatusCode.NotFound, $"this node holds no indicator {indicatorId}");
        var now = time.GetUtcNow();
        var changed = await lifecycleStore.SuppressAsync(
            new SuppressionRecord(indicator.Id, reason, now),
            new AuditEntry { Kind = AuditKinds.Suppressed, Actor = actor, Subject = indicator.Id, Decision = "suppressed", Reason = reason },
            ct).ConfigureAwait(false);
        if (changed)
        {
            LifecycleLog.Suppressed(logger, indicator.Id);
        }

        return changed;
    }

    private static void CheckReason(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason) || System.Text.Encoding.UTF8.GetByteCount(reason) > LifecycleReceiver.MaxReasonBytes
            || reason.Any(char.IsControl))
        {
            throw new LifecycleRefusedException(Grpc.Core.StatusCode.InvalidArgument,
                $"--reason must be 1-{LifecycleReceiver.MaxReasonBytes} UTF-8 bytes of text without control characters");
        }
    }
}
