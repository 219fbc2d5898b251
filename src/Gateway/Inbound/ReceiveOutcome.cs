using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Inbound;

/// <summary>
/// What became of one received envelope; turned into the Ack sent back. <see cref="Reason"/> is the human text
/// (<c>"&lt;code&gt;: &lt;detail&gt;"</c>), <see cref="Code"/> the typed reason of a rejection.
/// </summary>
internal sealed record ReceiveOutcome(AckStatus Status, string Reason, int Accepted = 0, int Quarantined = 0, int Rejected = 0)
{
    /// <summary>The typed reason (<see cref="RejectReason.Unspecified"/> unless rejected).</summary>
    public RejectReason Code { get; init; }

    /// <summary>A rejection: <paramref name="code"/> typed, and as text before <paramref name="detail"/>.</summary>
    public static ReceiveOutcome Reject(RejectReason code, string detail) =>
        new(AckStatus.Rejected, RejectReasons.Code(code) + ": " + detail) { Code = code };
}
