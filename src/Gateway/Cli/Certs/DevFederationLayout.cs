namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>What <see cref="DevFederation.Create"/> wrote: one entry per nation.</summary>
/// <param name="Directory">The federation's folder.</param>
/// <param name="Nodes">The gateways, in the order of <see cref="DevFederationOptions.Nations"/>.</param>
internal sealed record DevFederationLayout(string Directory, IReadOnlyList<DevNode> Nodes);

/// <summary>One gateway of the development federation and the files made for it (absolute paths).</summary>
internal sealed record DevNode
{
    /// <summary>Trust domain.</summary>
    public required string TrustDomain { get; init; }

    /// <summary>Gateway name.</summary>
    public required string Name { get; init; }

    /// <summary>SPIFFE id of the gateway.</summary>
    public required string Id { get; init; }

    /// <summary>The nation's folder.</summary>
    public required string Directory { get; init; }

    /// <summary>gateway.json.</summary>
    public required string ConfigPath { get; init; }

    /// <summary>Loopback port it listens on.</summary>
    public required int Port { get; init; }

    /// <summary><c>https://127.0.0.1:port</c>, as its peers dial it.</summary>
    public required string Address { get; init; }

    /// <summary>Root certificate of the domain.</summary>
    public required string RootCertificate { get; init; }

    /// <summary>Root private key of the domain (development only).</summary>
    public required string RootKey { get; init; }

    /// <summary>SPKI pin of the root.</summary>
    public required string RootPin { get; init; }

    /// <summary>Gateway certificate.</summary>
    public required string Certificate { get; init; }

    /// <summary>Gateway private key.</summary>
    public required string Key { get; init; }

    /// <summary>The node's admin socket.</summary>
    public required string AdminSocket { get; init; }

    /// <summary>The node's agents.</summary>
    public required IReadOnlyList<DevAgent> Agents { get; init; }
}

/// <summary>One sensor agent of the development federation (absolute paths).</summary>
/// <param name="Name">Agent name.</param>
/// <param name="Id">SPIFFE id.</param>
/// <param name="Directory">The agent's folder.</param>
/// <param name="ConfigPath">agent.json.</param>
/// <param name="Certificate">Agent certificate.</param>
/// <param name="Key">Agent private key.</param>
/// <param name="FeedsDirectory">Folder its sources read (empty when made).</param>
internal sealed record DevAgent(string Name, string Id, string Directory, string ConfigPath, string Certificate, string Key, string FeedsDirectory);
