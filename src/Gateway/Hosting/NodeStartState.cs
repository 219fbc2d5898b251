using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// What the composition root reads before the host is built (the config file, the node's identity, the first trust
/// snapshot and the peer bundles held in the database); the services that replace them later start from it.
/// </summary>
internal sealed record NodeStartState
{
    /// <summary>The config file the node started from.</summary>
    public required LoadedConfig Config { get; init; }

    /// <summary>The identity loaded at start.</summary>
    public required NodeIdentity Identity { get; init; }

    /// <summary>The trust snapshot built at start.</summary>
    public required TrustState Trust { get; init; }

    /// <summary>Peer trust bundles restored from the database, by trust domain.</summary>
    public required IReadOnlyDictionary<string, HeldTrustBundle> HeldBundles { get; init; }
}
