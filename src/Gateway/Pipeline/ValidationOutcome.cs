using System.Diagnostics.CodeAnalysis;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Result of validating one sighting: a normalized <see cref="Indicator"/> (with its id) or a rejection
/// reason that names the field ("confidence: 150 is above 100"). The store commits agent batches as lists of these
/// (<see cref="Storage.GatewayStore.CommitIngestAsync"/>): one result per item, bad items never failing their batch.
/// </summary>
internal sealed record ValidationOutcome
{
    private ValidationOutcome(Indicator? indicator, string? error)
    {
        Indicator = indicator;
        Error = error;
    }

    /// <summary>The normalized indicator when valid.</summary>
    public Indicator? Indicator { get; }

    /// <summary>Why the sighting was rejected, naming the field.</summary>
    public string? Error { get; }

    /// <summary>True when <see cref="Indicator"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Indicator))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => Indicator is not null;

    /// <summary>A valid, normalized indicator; it must carry its id.</summary>
    public static ValidationOutcome Valid(Indicator indicator)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        ArgumentException.ThrowIfNullOrEmpty(indicator.Id, nameof(indicator));
        return new(indicator, null);
    }

    /// <summary>A rejection; <paramref name="error"/> names the field.</summary>
    public static ValidationOutcome Rejected(string error)
    {
        ArgumentException.ThrowIfNullOrEmpty(error);
        return new(null, error);
    }
}
