using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Policy;

/// <summary>Turns validated policy sections of the config file into policy records.</summary>
internal static class PolicyMapper
{
    private static readonly OutboundPolicy s_defaults = new();

    /// <summary>Outbound policy from its config section (already validated).</summary>
    public static OutboundPolicy ToOutbound(OutboundPolicyConfig c) => new()
    {
        TlpCeiling = TlpNames.Parse(c.TlpCeiling),
        AllowRed = c.AllowRed,
        AllowedTypes = c.AllowedTypes.Select(IndicatorTypeNames.Parse).ToArray(),
        MinConfidence = c.MinConfidence,
        Sectors = c.Sectors.Select(s => s.ToLowerInvariant()).ToArray(),
        BlockedTags = c.BlockedTags.Select(s => s.ToLowerInvariant()).ToArray(),
        RequiredTags = c.RequiredTags.Select(s => s.ToLowerInvariant()).ToArray(),
        Redact = c.Redact?.ToArray() ?? s_defaults.Redact,
        Embargo = TimeSpan.FromSeconds(c.EmbargoSeconds),
        AllowRelay = c.AllowRelay,
    };

    /// <summary>Inbound policy from its config section (already validated).</summary>
    public static InboundPolicy ToInbound(InboundPolicyConfig c) => new()
    {
        Mode = c.Mode == "quarantine" ? InboundMode.Quarantine : InboundMode.Accept,
        TrustWeight = c.TrustWeight,
        AllowedTypes = c.AllowedTypes.Select(IndicatorTypeNames.Parse).ToArray(),
        TlpFloor = TlpNames.Parse(c.TlpFloor),
    };
}
