using System.Diagnostics.CodeAnalysis;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>One sighting of an agent batch after validation: a normalized indicator, or the reason it was rejected.</summary>
internal sealed record IngestItem
{
    private IngestItem(Indicator? indicator, string? rejection)
    {
        Indicator = indicator;
        Rejection = rejection;
    }

    /// <summary>The validated indicator (with id), when accepted by validation.</summary>
    public Indicator? Indicator { get; }

    /// <summary>Why validation rejected the sighting, naming the field.</summary>
    public string? Rejection { get; }

    /// <summary>True when <see cref="Indicator"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Indicator))]
    [MemberNotNullWhen(false, nameof(Rejection))]
    public bool IsValid => Indicator is not null;

    public static IngestItem Valid(Indicator indicator)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentException.ThrowIfNullOrEmpty(indicator.Id, nameof(indicator));
        return new(indicator, null);
    }

    public static IngestItem Rejected(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(null, reason);
    }

    /// <summary>From a <see cref="Pipeline.ValidationOutcome"/>.</summary>
    public static IngestItem From(Pipeline.ValidationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.IsValid ? Valid(outcome.Indicator) : Rejected(outcome.Error);
    }
}
