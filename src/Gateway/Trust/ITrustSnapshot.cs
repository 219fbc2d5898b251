namespace CyberCoop.Gateway.Trust;

/// <summary>The node's current trust snapshot (replaced as a whole on reload or when a peer's bundle is accepted).</summary>
internal interface ITrustSnapshot
{
    /// <summary>The snapshot in force now; read it once per decision.</summary>
    TrustState Current { get; }

    /// <summary>Raised after a new snapshot is in place, with (previous, next).</summary>
    event Action<TrustState, TrustState>? Changed;
}
