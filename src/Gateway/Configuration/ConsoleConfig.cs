namespace CyberCoop.Gateway.Configuration;

/// <summary>
/// The node's operator web console (gateway.json <c>console</c>; docs/operator-guide.md §9): pages for status, peers,
/// agents, flows, audit, policy test and indicators. HTTPS on its own port with the node's TLS certificate; callers
/// present an operator certificate of this node's domain (<c>spiffe://&lt;domain&gt;/operator/&lt;name&gt;</c>). Read-only
/// unless the operator is listed here with the role <c>operator</c>. With <see cref="LoopbackOnly"/> it is plain HTTP on a
/// loopback address, without certificates, and read-only for everyone.
/// </summary>
internal sealed record ConsoleConfig
{
    /// <summary>Listen endpoint, <c>host:port</c>; must differ from node.listen and taxii.listen.</summary>
    public string Listen { get; init; } = "127.0.0.1:7480";

    /// <summary>
    /// Plain HTTP, no client certificates, only on a loopback address, and no actions (read-only for every caller):
    /// for a node whose operators work on the machine itself.
    /// </summary>
    public bool LoopbackOnly { get; init; }

    /// <summary>Operators with a role; an operator certificate of this domain not listed here may only read.</summary>
    public IReadOnlyList<ConsoleOperatorConfig> Operators { get; init; } = [];
}

/// <summary>One operator of the console and what they may do.</summary>
internal sealed record ConsoleOperatorConfig
{
    /// <summary>The name in the operator certificate's SPIFFE id.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>read-only</c> (the default) or <c>operator</c> (may withdraw and suppress indicators).</summary>
    public string Role { get; init; } = ConsoleRoles.ReadOnly;
}

/// <summary>The roles of <see cref="ConsoleOperatorConfig.Role"/>.</summary>
internal static class ConsoleRoles
{
    public const string ReadOnly = "read-only";
    public const string Operator = "operator";
}
