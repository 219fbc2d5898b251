using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Federation;

/// <summary>What became of one received envelope; turned into the Ack sent back.</summary>
internal sealed record ReceiveOutcome(AckStatus Status, string Reason, int Accepted = 0, int Quarantined = 0, int Rejected = 0)
{
    /// <summary>A final rejection with a machine-readable reason code.</summary>
    public static ReceiveOutcome Reject(string reason) => new(AckStatus.Rejected, reason);
}
