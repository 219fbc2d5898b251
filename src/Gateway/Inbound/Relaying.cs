using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;

namespace CyberCoop.Gateway.Inbound;

/// <summary>
/// Relay rules: a received bundle travels further unchanged (the origin's signature with it) only
/// when the origin allowed relaying, the hop limit is not reached, every indicator is CLEAR or
/// GREEN and was accepted here, and this node's own outbound policy towards the next peer would
/// share every indicator. AMBER and above stop at the first recipient. Never back to the sender or
/// the origin; loops are cut at each receiver by (origin, bundle id).
/// </summary>
internal static class Relaying
{
    /// <summary>Plans relays of a received bundle; records every decision in <paramref name="audit"/>.</summary>
    public static List<OutboxItem> Plan(ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, PeerKeyDirectory directory, PeerSettings sender, EnvelopeHeader header, VerifiedBundle verified,
        int acceptedCount, List<AuditEntry> audit)
    {
        var bundle = verified.Bundle;
        var items = new List<OutboxItem>();
        var now = time.GetUtcNow();
        var subject = "bundle:" + Convert.ToHexStringLower(bundle.BundleId.Span);
        byte[]? payload = null;
        List<string>? ids = null;
        foreach (var peer in trustSnapshot.Current.Peers.Values)
        {
            if (peer.IdText == sender.IdText || peer.IdText == bundle.Origin)
            {
                continue;
            }

            var reason = Refusal(peer, header, bundle, acceptedCount, now);
            if (reason is not null)
            {
                audit.Add(new AuditEntry { Kind = AuditKinds.Withheld, Actor = nodeIdentity.Current.IdText, Subject = subject, Decision = "relay-withheld", Reason = $"to {peer.IdText}: {reason}" });
                continue;
            }

            payload ??= Payload(directory, verified.Signed, bundle.Origin);
            ids ??= [.. bundle.Indicators.Select(i => i.Id)];
            items.Add(new OutboxItem(peer.IdText, RandomId(), payload, bundle.Indicators.Count, now, (int)header.HopCount + 1, Origin: bundle.Origin, IndicatorIds: ids));
            audit.Add(new AuditEntry { Kind = AuditKinds.Shared, Actor = nodeIdentity.Current.IdText, Subject = subject, Decision = "relayed", Reason = $"to {peer.IdText}: origin {bundle.Origin} allowed relay, hop {header.HopCount + 1}/{bundle.MaxHops}" });
        }

        return items;
    }

    private static string? Refusal(PeerSettings peer, EnvelopeHeader header, Bundle bundle, int acceptedCount, DateTimeOffset now)
    {
        if (!bundle.RelayAllowed)
        {
            return "relay-not-allowed: the origin did not allow relaying";
        }

        if (header.HopCount + 1 > bundle.MaxHops)
        {
            return $"hop-limit: {bundle.MaxHops} relays allowed by the origin";
        }

        if (acceptedCount != bundle.Indicators.Count)
        {
            return "not-all-accepted: only content accepted here in full is relayed";
        }

        // The next peer's outbound policy without its embargo (the origin's embargo already applied), built once per peer.
        var policy = peer.Outbound with { Embargo = TimeSpan.Zero };
        foreach (var indicator in bundle.Indicators)
        {
            if (indicator.Tlp > Tlp.Green)
            {
                return $"tlp-too-high: {TlpNames.ToName(indicator.Tlp)} content stops at the first recipient";
            }

            var reason = OutboundPolicyEvaluator.Decide(indicator, policy, now, out _);
            if (reason != OutboundDecision.SharedReason)
            {
                return "relay-policy: " + reason;
            }
        }

        return null;
    }

    /// <summary>The signed bundle as relayed: unchanged, plus the origin's key announcement for the next hop.</summary>
    private static byte[] Payload(PeerKeyDirectory directory, SignedBundle signed, string origin)
    {
        if (signed.OriginAnnouncement is null && directory.Find(origin) is { } keys)
        {
            var copy = signed.Clone();
            copy.OriginAnnouncement = keys.Signed;
            return copy.ToByteArray();
        }

        return signed.ToByteArray();
    }

    /// <summary>A fresh 16-byte envelope id.</summary>
    public static byte[] RandomId() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(16);
}
