using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Policy;

/// <summary>The outbound policy's answer for one indicator and one peer.</summary>
internal sealed record OutboundDecision
{
    /// <summary>Reason code when shared.</summary>
    public const string SharedReason = "shared";

    /// <summary>True when the indicator may be sent.</summary>
    public required bool Shared { get; init; }

    /// <summary>When shared: a redacted copy to send (the evaluated indicator is never modified).</summary>
    public Indicator? Redacted { get; init; }

    /// <summary>Every rule, in evaluation order, with pass/fail and a human-readable detail (for audit and `policy test`).</summary>
    public required IReadOnlyList<PolicyRuleResult> Rules { get; init; }

    /// <summary>"shared", or the code of the first failing rule (e.g. "tlp-above-ceiling", "embargoed").</summary>
    public required string Reason { get; init; }

    /// <summary>When <see cref="Reason"/> is "embargoed": the time from which it may be sent (retry then).</summary>
    public DateTimeOffset? EmbargoUntil { get; init; }
}
