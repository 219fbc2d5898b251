using System.Collections.Frozen;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Inbound;

/// <summary>
/// The envelope rejection reasons of docs/protocol.md §10: the typed <see cref="RejectReason"/> carried in
/// <c>Ack.reason_code</c>, its stable text code (the part of <c>Ack.reason</c> before the first ':'), and its class.
/// Values 100-199 are "retry later" (the sender keeps the envelope and re-sends it); every other value is final.
/// </summary>
internal static class RejectReasons
{
    private static readonly FrozenDictionary<RejectReason, string> s_codes = new Dictionary<RejectReason, string>
    {
        [RejectReason.MalformedHeader] = "malformed-header",
        [RejectReason.SenderMismatch] = "sender-mismatch",
        [RejectReason.RecipientMismatch] = "recipient-mismatch",
        [RejectReason.SuiteDowngrade] = "suite-downgrade",
        [RejectReason.DecryptFailed] = "decrypt-failed",
        [RejectReason.MalformedBundle] = "malformed-bundle",
        [RejectReason.OriginMismatch] = "origin-mismatch",
        [RejectReason.RelayNotEntitled] = "relay-not-entitled",
        [RejectReason.HopLimit] = "hop-limit",
        [RejectReason.Loop] = "loop",
        [RejectReason.OriginKeyNotValid] = "origin-key-not-valid",
        [RejectReason.OriginNotPinned] = "origin-not-pinned",
        [RejectReason.BadSignature] = "bad-signature",
        [RejectReason.EnvelopeIdReused] = "envelope-id-reused",
        [RejectReason.UnknownPayloadKind] = "unknown-payload-kind",
        [RejectReason.MalformedWithdrawal] = "malformed-withdrawal",
        [RejectReason.MalformedSightingReport] = "malformed-sighting-report",
        [RejectReason.NotOrigin] = "not-origin",
        [RejectReason.NotRelayedToSender] = "not-relayed-to-sender",
        [RejectReason.UnknownKey] = "unknown-key",
        [RejectReason.KeyExpired] = "key-expired",
        [RejectReason.Stale] = "stale",
        [RejectReason.Future] = "future",
        [RejectReason.OriginKeyUnknown] = "origin-key-unknown",
        [RejectReason.HelloRequired] = "hello-required",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, RejectReason> s_byCode =
        s_codes.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    /// <summary>Every defined reason (not <see cref="RejectReason.Unspecified"/>).</summary>
    public static IEnumerable<RejectReason> All => s_codes.Keys;

    /// <summary>The stable text code of <paramref name="reason"/>, e.g. <c>stale</c>.</summary>
    public static string Code(RejectReason reason) =>
        s_codes.TryGetValue(reason, out var code) ? code : "reason-" + ((int)reason).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True for the "retry later" class (values 100-199), also for values this build does not know.</summary>
    public static bool IsRetryLater(RejectReason reason) => (int)reason is >= 100 and <= 199;

    /// <summary>
    /// The typed reason of a rejection: <c>Ack.reason_code</c>, or — from a receiver that predates that field — the
    /// text code before the first ':' of <c>Ack.reason</c> looked up in the same table (unknown text: unspecified).
    /// </summary>
    public static RejectReason Of(Ack ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        if (ack.ReasonCode != RejectReason.Unspecified)
        {
            return ack.ReasonCode;
        }

        var text = ack.Reason.AsSpan();
        var colon = text.IndexOf(':');
        var code = (colon >= 0 ? text[..colon] : text).ToString();
        return s_byCode.TryGetValue(code, out var reason) ? reason : RejectReason.Unspecified;
    }
}
