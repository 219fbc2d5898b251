using System.Diagnostics.CodeAnalysis;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Result of validating one sighting: a normalized <see cref="Indicator"/> or a rejection
/// reason that names the field ("confidence: 150 is above 100").
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

    public static ValidationOutcome Valid(Indicator indicator) => new(indicator, null);

    public static ValidationOutcome Rejected(string error) => new(null, error);
}
