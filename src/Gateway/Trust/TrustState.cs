using System.Collections.Frozen;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Trust;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// An immutable snapshot of everything the node trusts: per trust domain the roots its chains must end at and the
/// serials it revoked, and the configured peers with their policies. The own domain's roots and revocations come
/// from the own root-signed trust bundle; a peer domain's from the newest bundle accepted from it (or its pinned
/// root until one was accepted). Revocations apply only to certificates of the domain that revoked them. Replaced as
/// a whole on reload or when a peer's bundle is accepted, so a connection always sees one consistent view.
/// </summary>
internal sealed class TrustState
{
    private readonly FrozenDictionary<string, X509Certificate2[]> _roots;

    private TrustState(LoadedConfig config, ChainValidator validator, FrozenDictionary<string, PeerSettings> peers,
        FrozenDictionary<string, X509Certificate2[]> roots, FrozenDictionary<string, FrozenSet<string>> revokedByDomain,
        VerifiedTrustBundle ownBundle, FrozenDictionary<string, HeldTrustBundle> peerBundles)
    {
        Config = config;
        Validator = validator;
        Peers = peers;
        _roots = roots;
        RevokedByDomain = revokedByDomain;
        RevokedSerials = revokedByDomain.Values.SelectMany(s => s).ToFrozenSet(StringComparer.Ordinal);
        PinnedDomains = roots.Keys.ToFrozenSet(StringComparer.Ordinal);
        OwnBundle = ownBundle;
        PeerBundles = peerBundles;
    }

    /// <summary>The config this state was built from.</summary>
    public LoadedConfig Config { get; }

    /// <summary>Validates presented chains against exactly these anchors and revocations.</summary>
    public ChainValidator Validator { get; }

    /// <summary>Configured peers by SPIFFE id text.</summary>
    public FrozenDictionary<string, PeerSettings> Peers { get; }

    /// <summary>Trust domains this node has roots for (own, peers, trusted origins).</summary>
    public FrozenSet<string> PinnedDomains { get; }

    /// <summary>Revoked serials (upper-case hex) per trust domain.</summary>
    public FrozenDictionary<string, FrozenSet<string>> RevokedByDomain { get; }

    /// <summary>Every revoked serial known, of any domain (for display; checks use <see cref="RevokedByDomain"/>).</summary>
    public FrozenSet<string> RevokedSerials { get; }

    /// <summary>The own domain's verified trust bundle, served to peers.</summary>
    public VerifiedTrustBundle OwnBundle { get; }

    /// <summary>Bundles accepted from peer domains that apply under the current config, by trust domain.</summary>
    public FrozenDictionary<string, HeldTrustBundle> PeerBundles { get; }

    /// <summary>The roots currently trusted for <paramref name="trustDomain"/> (empty when none).</summary>
    public IReadOnlyList<X509Certificate2> RootsOf(string trustDomain) => _roots.TryGetValue(trustDomain, out var roots) ? roots : [];

    /// <summary>
    /// Builds the trust state from a validated config, the own verified bundle and the bundles held for peer domains
    /// (those that no longer continue the configured pin are left out).
    /// </summary>
    public static TrustState Create(LoadedConfig loaded, VerifiedTrustBundle ownBundle, IReadOnlyDictionary<string, HeldTrustBundle> heldBundles, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(ownBundle);
        ArgumentNullException.ThrowIfNull(heldBundles);
        var node = loaded.Config.Node;
        var roots = new Dictionary<string, List<X509Certificate2>>(StringComparer.Ordinal)
        {
            [node.TrustDomain] = [.. ownBundle.Roots],
        };
        var revoked = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal)
        {
            [node.TrustDomain] = ownBundle.RevokedSerials,
        };
        var configuredPins = new Dictionary<string, string>(StringComparer.Ordinal);
        var applying = new Dictionary<string, HeldTrustBundle>(StringComparer.Ordinal);
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
                peer.Suite is null ? null : Suites.Parse(peer.Suite),
                PolicyMapper.ToOutbound(peer.Outbound),
                PolicyMapper.ToInbound(peer.Inbound));
            peers[settings.IdText] = settings;
            if (peer.TrustDomain == node.TrustDomain)
            {
                continue; // another gateway of the own domain: anchored on the own bundle's roots
            }

            if (configuredPins.TryAdd(peer.TrustDomain, pin))
            {
                if (heldBundles.TryGetValue(peer.TrustDomain, out var held) && held.Continues(pin))
                {
                    applying[peer.TrustDomain] = held;
                    roots[peer.TrustDomain] = [.. held.Bundle.Roots];
                    revoked[peer.TrustDomain] = held.Bundle.RevokedSerials;
                }
                else
                {
                    roots[peer.TrustDomain] = [root];
                }
            }
            else if (configuredPins[peer.TrustDomain] != pin)
            {
                errors.Add($"peers[{i}].rootPin: trust domain '{peer.TrustDomain}' is already pinned to a different root");
            }
        }

        for (var i = 0; i < loaded.Config.TrustedOrigins.Count; i++)
        {
            var origin = loaded.Config.TrustedOrigins[i];
            var root = PemFiles.LoadCertificate(loaded.Resolve(origin.Root));
            SpkiPin.TryNormalize(origin.RootPin, out var pin, out _);
            if (origin.TrustDomain == node.TrustDomain)
            {
                continue;
            }

            if (configuredPins.TryAdd(origin.TrustDomain, pin))
            {
                roots[origin.TrustDomain] = [root];
            }
            else if (configuredPins[origin.TrustDomain] != pin)
            {
                errors.Add($"trustedOrigins[{i}].rootPin: trust domain '{origin.TrustDomain}' is already pinned to a different root");
            }
        }

        if (errors.Count > 0)
        {
            throw new GatewayConfigException(loaded.Path, errors);
        }

        var anchors = roots.SelectMany(p => p.Value.Select(r => new TrustAnchor(p.Key, r, SpkiPin.Compute(r)))).ToList();
        var validator = ChainValidator.WithDomainRevocations(anchors, revoked, time);
        return new TrustState(
            loaded,
            validator,
            peers.ToFrozenDictionary(StringComparer.Ordinal),
            roots.ToFrozenDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal),
            revoked.ToFrozenDictionary(p => p.Key, p => p.Value.ToFrozenSet(StringComparer.Ordinal), StringComparer.Ordinal),
            ownBundle,
            applying.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>The same config and own bundle with a different set of held peer bundles.</summary>
    public TrustState WithPeerBundles(IReadOnlyDictionary<string, HeldTrustBundle> heldBundles, TimeProvider time) =>
        Create(Config, OwnBundle, heldBundles, time);
}
