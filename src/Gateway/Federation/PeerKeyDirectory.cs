using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Federation;

/// <summary>
/// The content keys of other nodes, learnt from their signed trust bundles. A bundle is accepted
/// only when its signer chains to the pinned root of the bundle's own trust domain, its sequence is
/// newer than the one held, and every key announcement in it is signed by a gateway of that domain.
/// Bundles of different domains are never merged.
/// </summary>
internal sealed class PeerKeyDirectory(GatewayRuntime runtime, ILogger<PeerKeyDirectory> logger)
{
    private readonly ConcurrentDictionary<string, DomainKeys> _domains = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NodeKeys> _relayed = new(StringComparer.Ordinal);

    /// <summary>Keys of one announced node (each with its validity window), with the signed announcement they came from.</summary>
    internal sealed record NodeKeys(string Node, IReadOnlyList<AnnouncedKey> Keys, IReadOnlyList<Suite> Suites, SignedKeyAnnouncement Signed);

    private sealed record DomainKeys(ulong Sequence, DateTimeOffset FetchedAt, IReadOnlyDictionary<string, NodeKeys> Nodes, IReadOnlyList<string> Revoked);

    /// <summary>When the domain's bundle was last accepted, or null.</summary>
    public DateTimeOffset? FetchedAt(string trustDomain) => _domains.TryGetValue(trustDomain, out var d) ? d.FetchedAt : null;

    /// <summary>The announced keys of a node, or null when unknown.</summary>
    public NodeKeys? Find(string nodeId)
    {
        if (SpiffeId.TryParse(nodeId, out var id, out _) && _domains.TryGetValue(id.TrustDomain, out var domain)
            && domain.Nodes.TryGetValue(nodeId, out var keys))
        {
            return keys;
        }

        return _relayed.GetValueOrDefault(nodeId);
    }

    /// <summary>
    /// Accepts an origin's key announcement that a relay attached to a bundle. It must be signed by a
    /// gateway certificate chaining to a root this node pins for that domain. Returns an error or null.
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

        _relayed[expectedNode] = keys;
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
            if (key.Key.Algorithm is KeyAlgorithm.Ed25519 or KeyAlgorithm.Ed25519Mldsa65 && CryptographicOperations.FixedTimeEquals(key.Key.KeyId, keyId))
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>Fetches and verifies a peer's trust bundle over <paramref name="client"/>.</summary>
    public async Task<string?> RefreshAsync(PeerSettings peer, Contracts.V1.Federation.FederationClient client, CancellationToken ct)
    {
        var known = _domains.TryGetValue(peer.Id.TrustDomain, out var held) ? held.Sequence : 0UL;
        var signed = await client.GetTrustBundleAsync(new GetTrustBundleRequest { KnownSequence = known }, deadline: runtime.Time.GetUtcNow().UtcDateTime.AddSeconds(10), cancellationToken: ct).ConfigureAwait(false);
        return Accept(peer.Id.TrustDomain, signed);
    }

    /// <summary>Verifies and stores a signed trust bundle of <paramref name="trustDomain"/>; returns an error or null.</summary>
    public string? Accept(string trustDomain, SignedTrustBundle signed)
    {
        var error = Verify(trustDomain, signed, out var bundle, out var nodes);
        if (error is not null)
        {
            GatewayLog.TrustBundleRejected(logger, trustDomain, error);
            runtime.AuditLater(new Storage.AuditEntry { Kind = AuditKinds.Rejected, Actor = trustDomain, Subject = "trust-bundle", Decision = "rejected", Reason = error });
            return error;
        }

        var entry = new DomainKeys(bundle!.Sequence, runtime.Time.GetUtcNow(), nodes!, bundle.RevokedSerials.ToArray());
        var stored = _domains.AddOrUpdate(trustDomain, entry, (_, old) => old.Sequence >= entry.Sequence ? old with { FetchedAt = entry.FetchedAt } : entry);
        if (ReferenceEquals(stored, entry))
        {
            GatewayLog.TrustBundleAccepted(logger, trustDomain, bundle.Sequence, nodes!.Count, bundle.RevokedSerials.Count);
            if (bundle.RevokedSerials.Count > 0)
            {
                runtime.ApplyRevocations(bundle.RevokedSerials.Select(s => s.ToUpperInvariant()));
            }
        }

        return null;
    }

    private string? Verify(string trustDomain, SignedTrustBundle signed, out TrustBundle? bundle, out Dictionary<string, NodeKeys>? nodes)
    {
        bundle = null;
        nodes = null;
        X509Certificate2 signer;
        try
        {
            signer = X509CertificateLoader.LoadCertificate(signed.SignerCertificate.Span);
        }
        catch (CryptographicException ex)
        {
            return "signer certificate is not a valid DER certificate: " + ex.Message;
        }

        using (signer)
        {
            var check = runtime.Trust.Validator.Validate(signer, null, CertificatePurpose.Server);
            if (!check.IsValid || check.Id is not { } signerId)
            {
                return "signer certificate not trusted: " + check.Reason;
            }

            if (signerId.TrustDomain != trustDomain)
            {
                return $"bundle signed by '{signerId}', not by an identity of {trustDomain}";
            }

            if (!IdentitySignatures.Verify(SignaturePurpose.TrustBundle, signed.Bundle.Span, signed.Signature.Span, signer))
            {
                return "trust bundle signature does not verify";
            }
        }

        try
        {
            bundle = TrustBundle.Parser.ParseFrom(signed.Bundle);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return "trust bundle is malformed: " + ex.Message;
        }

        if (bundle.TrustDomain != trustDomain)
        {
            return $"bundle describes '{bundle.TrustDomain}', expected {trustDomain}";
        }

        if (bundle.ExpiresAt is not null && bundle.ExpiresAt.ToDateTimeOffset() < runtime.Time.GetUtcNow())
        {
            return "trust bundle has expired";
        }

        nodes = new Dictionary<string, NodeKeys>(StringComparer.Ordinal);
        foreach (var announcement in bundle.KeyAnnouncements)
        {
            var error = VerifyAnnouncement(trustDomain, announcement, out var keys);
            if (error is not null)
            {
                return error;
            }

            nodes[keys!.Node] = keys;
        }

        return null;
    }

    private string? VerifyAnnouncement(string trustDomain, SignedKeyAnnouncement signed, out NodeKeys? keys)
    {
        keys = null;
        if (signed.CertificateChain.Count == 0)
        {
            return "key announcement without certificate";
        }

        using var leaf = X509CertificateLoader.LoadCertificate(signed.CertificateChain[0].Span);
        var check = runtime.Trust.Validator.Validate(leaf, null, CertificatePurpose.Server);
        if (!check.IsValid || check.Id is not { } id || id.TrustDomain != trustDomain || id.Kind != WorkloadKind.Gateway)
        {
            return "key announcement signer not trusted: " + check.Reason;
        }

        if (!IdentitySignatures.Verify(SignaturePurpose.KeyAnnouncement, signed.Announcement.Span, signed.Signature.Span, leaf))
        {
            return $"key announcement of {id} does not verify";
        }

        var announcement = KeyAnnouncement.Parser.ParseFrom(signed.Announcement);
        if (announcement.Node != id.ToString())
        {
            return $"key announcement for '{announcement.Node}' signed by '{id}'";
        }

        // Every key with its window, expired ones included: selection by time happens at use (sealing, verifying).
        var list = new List<AnnouncedKey>();
        foreach (var key in announcement.Keys)
        {
            list.Add(AnnouncedKey.FromProto(key));
        }

        keys = new NodeKeys(announcement.Node, list, announcement.Suites.ToArray(), signed);
        return null;
    }
}
