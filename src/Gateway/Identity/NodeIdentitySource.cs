using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Identity;

/// <summary>Holds the node's identity in force; a reload that finds a renewed certificate or rotated keys replaces it.</summary>
internal sealed class NodeIdentitySource(NodeStartState start) : INodeIdentitySource
{
    private volatile NodeIdentity _current = start.Identity;

    /// <inheritdoc />
    public NodeIdentity Current => _current;

    /// <summary>Puts <paramref name="next"/> in force (called by the reload under the trust gate, with the matching trust).</summary>
    internal void Replace(NodeIdentity next) => _current = next;
}
