using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Outbound;

/// <summary>
/// Chooses the suite used towards a peer: the one the config pins, otherwise the strongest suite
/// both nodes announce; anything below the node's minimum is refused (no silent downgrade).
/// </summary>
internal static class SuiteNegotiation
{
    /// <summary>The chosen suite, or an error saying why none is acceptable.</summary>
    public static (Suite Suite, string? Error) Choose(IReadOnlyList<Suite> local, IReadOnlyList<Suite> remote, Suite? pinned, Suite minimum)
    {
        if (pinned is { } p)
        {
            if (!local.Contains(p) || !remote.Contains(p))
            {
                return (Suite.Unspecified, $"suite-unavailable: the pinned suite {Suites.Name(p)} is not supported by both nodes");
            }

            return Suites.Strength(p) < Suites.Strength(minimum)
                ? (Suite.Unspecified, $"suite-downgrade: pinned suite {Suites.Name(p)} is below the minimum {Suites.Name(minimum)}")
                : (p, null);
        }

        var best = local.Intersect(remote).OrderByDescending(Suites.Strength).FirstOrDefault();
        if (best == Suite.Unspecified)
        {
            return (Suite.Unspecified, "suite-unavailable: the nodes share no suite");
        }

        return Suites.Strength(best) < Suites.Strength(minimum)
            ? (Suite.Unspecified, $"suite-downgrade: the strongest common suite {Suites.Name(best)} is below the minimum {Suites.Name(minimum)}")
            : (best, null);
    }

    /// <summary>The suite towards a peer whose keys are known, or an error.</summary>
    public static (Suite Suite, string? Error) ForPeer(ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, PeerSettings peer, PeerKeyDirectory.NodeKeys keys) =>
        Choose(nodeIdentity.Current.Suites, keys.Suites, peer.PinnedSuite, Suites.Parse(trustSnapshot.Current.Config.Config.Node.MinimumSuite));

    /// <summary>
    /// The peer's KEM key for a suite to seal to at <paramref name="now"/>: the newest announced key (latest not-before)
    /// whose not-before has passed (up to <paramref name="skew"/> early) and whose not-after has not; null when none is
    /// usable now. A key announced ahead of use is therefore ignored until its time.
    /// </summary>
    public static ContentPublicKey? KemKey(PeerKeyDirectory.NodeKeys keys, Suite suite, DateTimeOffset now, TimeSpan skew)
    {
        var algorithm = Suites.IsSupported(suite) ? Suites.KemAlgorithm(suite) : KeyAlgorithm.Unspecified;
        AnnouncedKey? best = null;
        foreach (var key in keys.Keys)
        {
            if (key.Key.Algorithm == algorithm && key.UsableAt(now, skew) && (best is null || key.NotBefore >= best.NotBefore))
            {
                best = key;
            }
        }

        return best?.Key;
    }

    /// <summary>The clock skew this node tolerates (node.maxClockSkewSeconds).</summary>
    public static TimeSpan Skew(ITrustSnapshot trustSnapshot) => TimeSpan.FromSeconds(trustSnapshot.Current.Config.Config.Node.MaxClockSkewSeconds);
}
