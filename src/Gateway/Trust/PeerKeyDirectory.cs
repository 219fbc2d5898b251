using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// The content keys of other nodes and the acceptance of peer domains' root-signed trust bundles. A bundle is
/// accepted only when it describes the peer's own domain, is signed by a root this node currently trusts for that
/// domain (the pinned root, then the roots of the newest accepted bundle; a root it introduces must have signed it
/// too), is newer than the one held and has not expired (see <see cref="TrustBundleVerifier"/>). Key announcements
/// travel beside the bundle and are kept only when signed by a gateway of that same domain whose certificate chains
/// to a root of the accepted bundle and is not revoked by it. Bundles of different domains are never merged.
/// Lookups never leave the process: a peer's bundle is fetched by its forwarder when it connects and by
/// <see cref="PeerKeyFetcher"/> in the background, which serves the fetches asked for with <see cref="RequestFetch"/>
/// (a receive that missed an origin's key, a peer announcing a newer bundle, a peer added or changed by a reload).
/// </summary>
internal sealed class PeerKeyDirectory(TrustHolder trustHolder, TimeProvider time, IAuditSink auditSink, ILogger<PeerKeyDirectory> logger)
{
    private readonly ConcurrentDictionary<string, DomainKeys> _domains = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RelayedKeys> _relayed = new(StringComparer.Ordinal);

    // Peers whose bundle fetch is asked for and not finished: a peer is queued at most once however many misses ask.
    private readonly ConcurrentDictionary<string, byte> _fetchPending = new(StringComparer.Ordinal);
    private readonly Channel<string> _fetches = Channel.CreateBounded<string>(new BoundedChannelOptions(MaxPendingFetches)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    /// <summary>Most peers whose fetch can wait at once (beyond it, requests are dropped until the queue drains).</summary>
    internal const int MaxPendingFetches = 1024;

    /// <summary>Keys of one announced node (each with its validity window), with the signed announcement they came from.</summary>
    internal sealed record NodeKeys(string Node, IReadOnlyList<AnnouncedKey> Keys, IReadOnlyList<Suite> Suites, SignedKeyAnnouncement Signed)
    {
        /// <summary>When the announcement was issued (newer announcements replace older ones).</summary>
        public DateTimeOffset IssuedAt { get; init; }
    }

    private sealed record DomainKeys(DateTimeOffset FetchedAt, IReadOnlyDictionary<string, NodeKeys> Nodes);

    /// <summary>A relayed announcement and the trust snapshot it was last verified under (re-verified when that changes).</summary>
    private sealed record RelayedKeys(NodeKeys Keys, TrustState VerifiedUnder);

    /// <summary>When the domain's bundle was last fetched and verified, or null.</summary>
    public DateTimeOffset? FetchedAt(string trustDomain) => _domains.TryGetValue(trustDomain, out var d) ? d.FetchedAt : null;

    /// <summary>The announced keys of a node, or null when unknown.</summary>
    public NodeKeys? Find(string nodeId)
    {
        if (SpiffeId.TryParse(nodeId, out var id, out _) && _domains.TryGetValue(id.TrustDomain, out var domain)
            && domain.Nodes.TryGetValue(nodeId, out var keys))
        {
            return keys;
        }

        return FindRelayed(nodeId);
    }

    /// <summary>
    /// A relayed announcement, checked again whenever the trust snapshot changed since it was last verified: its
    /// signer may have been revoked, or its root dropped, meanwhile; it is then forgotten.
    /// </summary>
    private NodeKeys? FindRelayed(string nodeId)
    {
        if (!_relayed.TryGetValue(nodeId, out var relayed))
        {
            return null;
        }

        var trust = trustHolder.Current;
        if (ReferenceEquals(relayed.VerifiedUnder, trust))
        {
            return relayed.Keys;
        }

        if (SpiffeId.TryParse(nodeId, out var id, out _) && VerifyAnnouncement(id.TrustDomain, relayed.Keys.Signed, out _) is null)
        {
            _relayed.TryUpdate(nodeId, relayed with { VerifiedUnder = trust }, relayed);
            return relayed.Keys;
        }

        _relayed.TryRemove(new KeyValuePair<string, RelayedKeys>(nodeId, relayed));
        return null;
    }

    /// <summary>
    /// Accepts an origin's key announcement that a relay attached to a bundle. It must be signed by a
    /// gateway certificate chaining to a root this node trusts for that domain; one older than the announcement
    /// held for that origin is verified but not kept. Returns an error or null.
    /// </summary>
    public string? AcceptRelayedAnnouncement(string expectedNode, SignedKeyAnnouncement signed)
    {
        if (!SpiffeId.TryParse(expectedNode, out var id, out var error))
        {
            return error;
        }

        error = VerifyAnnouncement(id.TrustDomain, signed, out var keys);
        if (error is not null)
        {
            return error;
        }

        if (keys!.Node != expectedNode)
        {
            return $"announcement is for '{keys.Node}', not the origin '{expectedNode}'";
        }

        // Newer issue time wins, as for announcements served beside a bundle: a relay cannot bring back an older
        // announcement that still lists a key the origin has since withdrawn.
        var held = FindRelayed(expectedNode);
        if (held is null || held.IssuedAt <= keys.IssuedAt)
        {
            _relayed[expectedNode] = new RelayedKeys(keys, trustHolder.Current);
        }

        return null;
    }

    /// <summary>
    /// Finds an announced signing key of <paramref name="nodeId"/> by key id, whatever its window (the caller checks the
    /// window against the signed content's time; see <see cref="AnnouncedKey.ValidAt"/>).
    /// </summary>
    public AnnouncedKey? FindSigningKey(string nodeId, ReadOnlySpan<byte> keyId)
    {
        var keys = Find(nodeId);
        if (keys is null)
        {
            return null;
        }

        foreach (var key in keys.Keys)
        {
            if (key.Key.Algorithm is KeyAlgorithm.Ed25519 or KeyAlgorithm.Ed25519Mldsa65 && key.Key.HasKeyId(keyId))
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>
    /// Asks for the trust bundle (and the key announcements beside it) of the peer <paramref name="peerId"/> to be fetched
    /// in the background; returns at once and never waits on the network. A peer already waiting or being fetched is not
    /// queued again. Returns true when this call queued a fetch.
    /// </summary>
    public bool RequestFetch(string peerId)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        if (!_fetchPending.TryAdd(peerId, 0))
        {
            return false;
        }

        if (_fetches.Writer.TryWrite(peerId))
        {
            return true;
        }

        _fetchPending.TryRemove(peerId, out _);
        return false;
    }

    /// <summary>The fetches asked for, in order (read by <see cref="PeerKeyFetcher"/> only).</summary>
    internal ChannelReader<string> FetchRequests => _fetches.Reader;

    /// <summary>Ends a fetch asked for with <see cref="RequestFetch"/>: the next request for that peer queues a new one.</summary>
    internal void FetchFinished(string peerId) => _fetchPending.TryRemove(peerId, out _);

    /// <summary>Fetches and verifies a peer's trust bundle over <paramref name="client"/>; returns an error or null.</summary>
    public async Task<string?> RefreshAsync(PeerSettings peer, Contracts.V1.Federation.FederationClient client, CancellationToken ct)
    {
        var known = trustHolder.Current.PeerBundles.TryGetValue(peer.Id.TrustDomain, out var held) ? held.Bundle.Sequence : 0UL;
        // A gRPC deadline is an instant on the machine clock gRPC measures against, not on the node's TimeProvider: a
        // node clock behind the machine clock by more than the timeout expired every call at once (DeadlineExceeded).
        var signed = await client.GetTrustBundleAsync(new GetTrustBundleRequest { KnownSequence = known }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ConfigureAwait(false);
        return await AcceptAsync(peer.Id.TrustDomain, signed, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Verifies a signed trust bundle served by a peer of <paramref name="trustDomain"/>, makes it the held bundle when
    /// it is newer, and takes the key announcements served beside it. Returns an error (the bundle was rejected) or null.
    /// An equal or older sequence is not an error: the held bundle stays, and the announcements are still checked.
    /// </summary>
    public async Task<string?> AcceptAsync(string trustDomain, SignedTrustBundle signed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(signed);
        var trust = trustHolder.Current;
        var now = time.GetUtcNow();
        var verified = TrustBundleVerifier.Verify(signed, trustDomain, trust.RootsOf(trustDomain), now, out var error);
        if (verified is null)
        {
            GatewayLog.TrustBundleRejected(logger, trustDomain, error!);
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Rejected, Actor = trustDomain, Subject = "trust-bundle", Decision = "rejected", Reason = error! });
            return error;
        }

        var held = trust.PeerBundles.GetValueOrDefault(trustDomain);
        if (held is null || verified.Sequence > held.Bundle.Sequence)
        {
            var anchorPin = held?.AnchorPin ?? ConfiguredPin(trust, trustDomain);
            if (await trustHolder.AcceptPeerBundleAsync(new HeldTrustBundle(anchorPin, verified, now), ct).ConfigureAwait(false))
            {
                GatewayLog.TrustBundleAccepted(logger, trustDomain, verified.Sequence, verified.Roots.Count, verified.RevokedSerials.Count, verified.ExpiresAt);
                auditSink.AuditLater(new AuditEntry
                {
                    Kind = AuditKinds.Config,
                    Actor = trustDomain,
                    Subject = "trust-bundle",
                    Decision = "accepted",
                    Reason = $"sequence {verified.Sequence}; roots {string.Join(", ", verified.RootPins)}; {verified.RevokedSerials.Count} revoked; signed by {string.Join(", ", verified.SignerPins)}",
                });
            }
        }
        else if (verified.Sequence < held.Bundle.Sequence || !verified.SameSignedPart(held.Bundle))
        {
            var reason = verified.Sequence < held.Bundle.Sequence
                ? $"sequence {verified.Sequence} is older than the held sequence {held.Bundle.Sequence}; keeping the held bundle"
                : $"sequence {verified.Sequence} equals the held one but the content differs; keeping the held bundle";
            GatewayLog.TrustBundleIgnored(logger, trustDomain, reason);
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Rejected, Actor = trustDomain, Subject = "trust-bundle", Decision = "ignored", Reason = reason });
        }

        TakeAnnouncements(trustDomain, signed, now);
        return null;
    }

    private static string ConfiguredPin(TrustState trust, string trustDomain)
    {
        foreach (var peer in trust.Peers.Values)
        {
            if (peer.Id.TrustDomain == trustDomain)
            {
                return peer.RootPin;
            }
        }

        var roots = trust.RootsOf(trustDomain);
        return roots.Count > 0 ? SpkiPin.Compute(roots[0]) : "";
    }

    /// <summary>
    /// Replaces, per node, the keys held for <paramref name="trustDomain"/> with the announcements served (newer issue
    /// time wins, so one gateway's response does not drop another gateway's keys of the same domain), after dropping
    /// held keys whose signer is no longer trusted (revoked, or its root left the bundle).
    /// </summary>
    private void TakeAnnouncements(string trustDomain, SignedTrustBundle signed, DateTimeOffset now)
    {
        var nodes = new Dictionary<string, NodeKeys>(StringComparer.Ordinal);
        if (_domains.TryGetValue(trustDomain, out var existing))
        {
            foreach (var (node, keys) in existing.Nodes)
            {
                if (VerifyAnnouncement(trustDomain, keys.Signed, out var still) is null)
                {
                    nodes[node] = still! with { IssuedAt = keys.IssuedAt };
                }
            }
        }

        foreach (var announcement in signed.KeyAnnouncements)
        {
            var error = VerifyAnnouncement(trustDomain, announcement, out var keys);
            if (error is not null)
            {
                GatewayLog.KeyAnnouncementIgnored(logger, trustDomain, error);
                continue;
            }

            if (!nodes.TryGetValue(keys!.Node, out var held) || held.IssuedAt <= keys.IssuedAt)
            {
                nodes[keys.Node] = keys;
            }
        }

        _domains[trustDomain] = new DomainKeys(now, nodes);
    }

    private string? VerifyAnnouncement(string trustDomain, SignedKeyAnnouncement signed, out NodeKeys? keys)
    {
        keys = null;
        if (signed.CertificateChain.Count == 0)
        {
            return "key announcement without certificate";
        }

        X509Certificate2 leaf;
        try
        {
            leaf = X509CertificateLoader.LoadCertificate(signed.CertificateChain[0].Span);
        }
        catch (CryptographicException ex)
        {
            return "key announcement certificate is not a DER certificate: " + ex.Message;
        }

        using (leaf)
        {
            var check = trustHolder.Current.Validator.Validate(leaf, null, CertificatePurpose.Server);
            if (!check.IsValid || check.Id is not { } id)
            {
                return "key announcement signer not trusted: " + check.Reason;
            }

            if (id.TrustDomain != trustDomain || id.Kind != WorkloadKind.Gateway)
            {
                return $"key announcement signed by '{id}', not by a gateway of {trustDomain}; announcements of other domains are never merged";
            }

            if (!IdentitySignatures.Verify(SignaturePurpose.KeyAnnouncement, signed.Announcement.Span, signed.Signature.Span, leaf))
            {
                return $"key announcement of {id} does not verify";
            }

            KeyAnnouncement announcement;
            try
            {
                announcement = KeyAnnouncement.Parser.ParseFrom(signed.Announcement);
            }
            catch (InvalidProtocolBufferException ex)
            {
                return $"key announcement of {id} is malformed: {ex.Message}";
            }

            if (announcement.Node != id.ToString())
            {
                return $"key announcement for '{announcement.Node}' signed by '{id}'";
            }

            if (!TrustBundleVerifier.IsValidTimestamp(announcement.IssuedAt) || announcement.Keys.Any(k => !TrustBundleVerifier.IsValidTimestamp(k.NotBefore) || !TrustBundleVerifier.IsValidTimestamp(k.NotAfter)))
            {
                return $"key announcement of {id} holds a timestamp out of range";
            }

            // Every key with its window, expired ones included: selection by time happens at use (sealing, verifying).
            var list = new List<AnnouncedKey>();
            foreach (var key in announcement.Keys)
            {
                if (key.Algorithm > KeyAlgorithm.X25519Mlkem768)
                {
                    // A key of an algorithm this version does not know (a later suite, docs/protocol.md §11) is skipped, so
                    // a node that adds a suite keeps its other keys usable here.
                    continue;
                }

                try
                {
                    list.Add(AnnouncedKey.FromProto(key));
                }
                catch (CryptoFormatException ex)
                {
                    return $"key announcement of {id} holds an unusable key: {ex.Message}";
                }
            }

            keys = new NodeKeys(announcement.Node, list, announcement.Suites.ToArray(), signed)
            {
                IssuedAt = announcement.IssuedAt?.ToDateTimeOffset() ?? DateTimeOffset.MinValue,
            };
            return null;
        }
    }
}
