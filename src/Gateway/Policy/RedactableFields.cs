using System.Collections.Frozen;

namespace CyberCoop.Gateway.Policy;

/// <summary>Field names an outbound policy may redact, and what each removes.</summary>
internal static class RedactableFields
{
    /// <summary>observations[].sensor (the origin's agent and sensor names).</summary>
    public const string Sensor = "sensor";

    /// <summary>observations[].context (signatures, internal host names...).</summary>
    public const string Context = "context";

    /// <summary>observations[].count (how often it was seen).</summary>
    public const string Count = "count";

    /// <summary>observations[].node (which gateway observed it).</summary>
    public const string Node = "node";

    /// <summary>The free-text description.</summary>
    public const string Description = "description";

    /// <summary>The tags.</summary>
    public const string Tags = "tags";

    /// <summary>Every valid name.</summary>
    public static FrozenSet<string> All { get; } = FrozenSet.Create(StringComparer.OrdinalIgnoreCase, Sensor, Context, Count, Node, Description, Tags);
}
