using System.Collections.Frozen;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// An immutable snapshot of everything the node trusts: the anchors (own root and one pinned root
/// per peer), revoked serials, and the configured peers with their policies. Replaced as a whole on
/// reload, so a connection always sees one consistent view.
/// </summary>
internal sealed class TrustState
{
    private TrustState(LoadedConfig config, ChainValidator validator, FrozenDictionary<string, PeerSettings> peers,
        FrozenSet<string> revokedSerials, FrozenSet<string> pinnedDomains)
    {
        PinnedDomains = pinnedDomains;
        Config = config;
        Validator = validator;
        Peers = peers;
        RevokedSerials = revokedSerials;
    }

    /// <summary>The config this state was built from.</summary>
    public LoadedConfig Config { get; }

    /// <summary>Validates presented chains against exactly the configured anchors.</summary>
    public ChainValidator Validator { get; }

    /// <summary>Configured peers by SPIFFE id text.</summary>
    public FrozenDictionary<string, PeerSettings> Peers { get; }

    /// <summary>Trust domains whose root this node pins (own, peers, trusted origins).</summary>
    public FrozenSet<string> PinnedDomains { get; }

    /// <summary>All revoked serials known (own config and peers' trust bundles).</summary>
    public FrozenSet<string> RevokedSerials { get; }

    /// <summary>Builds the trust state from a validated config plus serials revoked by peers' trust bundles.</summary>
    public static TrustState Create(LoadedConfig loaded, System.Security.Cryptography.X509Certificates.X509Certificate2 ownRoot, IEnumerable<string> extraRevoked, TimeProvider time)
    {
        var node = loaded.Config.Node;
        var anchors = new List<TrustAnchor> { new(node.TrustDomain, ownRoot, SpkiPin.Compute(ownRoot)) };
        var peers = new Dictionary<string, PeerSettings>(StringComparer.Ordinal);
        var errors = new List<string>();
        for (var i = 0; i < loaded.Config.Peers.Count; i++)
        {
            var peer = loaded.Config.Peers[i];
            var root = PemFiles.LoadCertificate(loaded.Resolve(peer.Root));
            SpkiPin.TryNormalize(peer.RootPin, out var pin, out _);
            var settings = new PeerSettings(
                SpiffeId.Parse(peer.Id),
                new Uri(peer.Address),
                root,
                pin,
                peer.Suite is null ? null : SuiteNames.Parse(peer.Suite),
                PolicyMapper.ToOutbound(peer.Outbound),
                PolicyMapper.ToInbound(peer.Inbound));
            peers[settings.IdText] = settings;
            if (anchors.TrueForAll(a => a.TrustDomain != peer.TrustDomain))
            {
                anchors.Add(new TrustAnchor(peer.TrustDomain, root, pin));
            }
            else if (!anchors.Exists(a => a.TrustDomain == peer.TrustDomain && a.Pin == pin))
            {
                errors.Add($"peers[{i}].rootPin: trust domain '{peer.TrustDomain}' is already pinned to a different root");
            }
        }

        for (var i = 0; i < loaded.Config.TrustedOrigins.Count; i++)
        {
            var origin = loaded.Config.TrustedOrigins[i];
            var root = PemFiles.LoadCertificate(loaded.Resolve(origin.Root));
            SpkiPin.TryNormalize(origin.RootPin, out var pin, out _);
            if (anchors.TrueForAll(a => a.TrustDomain != origin.TrustDomain))
            {
                anchors.Add(new TrustAnchor(origin.TrustDomain, root, pin));
            }
            else if (!anchors.Exists(a => a.TrustDomain == origin.TrustDomain && a.Pin == pin))
            {
                errors.Add($"trustedOrigins[{i}].rootPin: trust domain '{origin.TrustDomain}' is already pinned to a different root");
            }
        }

        if (errors.Count > 0)
        {
            throw new GatewayConfigException(loaded.Path, errors);
        }

        var revoked = node.RevokedSerials.Select(s => s.ToUpperInvariant()).Concat(extraRevoked).ToFrozenSet(StringComparer.Ordinal);
        var validator = new ChainValidator(anchors, revoked, time);
        return new TrustState(loaded, validator, peers.ToFrozenDictionary(StringComparer.Ordinal), revoked, anchors.Select(a => a.TrustDomain).ToFrozenSet(StringComparer.Ordinal));
    }
}
