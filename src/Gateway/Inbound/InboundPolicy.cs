using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Inbound;

/// <summary>How much this node trusts what one peer sends (mistrust by default is the operator's choice).</summary>
internal sealed record InboundPolicy
{
    /// <summary>Accept or quarantine what passes the checks.</summary>
    public InboundMode Mode { get; init; } = InboundMode.Accept;

    /// <summary>Factor 0-1 applied to the confidence the peer asserts.</summary>
    public double TrustWeight { get; init; } = 1.0;

    /// <summary>Types accepted; empty means all.</summary>
    public IReadOnlyList<IndicatorType> AllowedTypes { get; init; } = [];

    /// <summary>Indicators marked lower than this are raised to it.</summary>
    public Tlp TlpFloor { get; init; } = Tlp.Clear;

    /// <summary>Checks every setting; each error starts with <paramref name="path"/> and the field name.</summary>
    public IReadOnlyList<string> Validate(string path)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Mode))
        {
            errors.Add($"{path}.mode: must be Accept or Quarantine");
        }

        if (double.IsNaN(TrustWeight) || TrustWeight is < 0 or > 1)
        {
            errors.Add($"{path}.trustWeight: {TrustWeight} is outside 0-1");
        }

        if (!IndicatorLimits.IsKnownTlp(TlpFloor))
        {
            errors.Add($"{path}.tlpFloor: must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED");
        }

        if (AllowedTypes is null)
        {
            errors.Add($"{path}.allowedTypes: must not be null");
        }
        else
        {
            for (var i = 0; i < AllowedTypes.Count; i++)
            {
                if (!IndicatorTypeNames.IsKnown(AllowedTypes[i]))
                {
                    errors.Add($"{path}.allowedTypes[{i}]: unknown indicator type");
                }
            }
        }

        return errors;
    }
}
