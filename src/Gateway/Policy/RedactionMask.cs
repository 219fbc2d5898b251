namespace CyberCoop.Gateway.Policy;

/// <summary>
/// An outbound policy's redaction list (<see cref="OutboundPolicy.Redact"/>) compiled once per policy, so that the
/// dispatcher does not compare field names for every indicator and observation.
/// </summary>
[Flags]
internal enum RedactionMask
{
    /// <summary>Nothing is removed.</summary>
    None = 0,

    /// <summary>observations[].sensor.</summary>
    Sensor = 1,

    /// <summary>observations[].context.</summary>
    Context = 2,

    /// <summary>observations[].count.</summary>
    Count = 4,

    /// <summary>observations[].node.</summary>
    Node = 8,

    /// <summary>The description.</summary>
    Description = 16,

    /// <summary>The tags.</summary>
    Tags = 32,

    /// <summary>Any of the per-observation fields.</summary>
    ObservationFields = Sensor | Context | Count | Node,
}
