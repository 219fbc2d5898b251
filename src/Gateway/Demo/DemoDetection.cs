using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Demo;

/// <summary>One detection of the demo's built-in sample, as a sensor would report it.</summary>
/// <param name="Type">Indicator type.</param>
/// <param name="Value">The observable (documentation address ranges and example domains only).</param>
/// <param name="Tlp">Marking the sensor operator gave it.</param>
/// <param name="Confidence">0-100.</param>
/// <param name="Sensor">Sensor name inside the agent (redacted by some policies).</param>
/// <param name="Signature">What fired (carried as context; redacted by default).</param>
/// <param name="Tags">Tags.</param>
internal sealed record DemoDetection(IndicatorType Type, string Value, Tlp Tlp, uint Confidence, string Sensor, string Signature, params string[] Tags)
{
    /// <summary>Internal host name the sensor saw talking to the observable (redacted by default before sharing).</summary>
    public string InternalHost { get; init; } = "";
}
