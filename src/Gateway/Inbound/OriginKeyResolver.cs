using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Inbound;

/// <summary>
/// Finds the signing key an origin announced under a key id, for anything the origin signs (bundles, withdrawals,
/// sightings reports): from the keys held; else, for relayed content, from the origin's own signed key announcement the
/// relay attached (usable only when this node pins the origin's root). It never calls another node: when the origin is
/// a pinned peer whose key is not held, it asks the <see cref="PeerKeyDirectory"/> to fetch the origin's bundle in the
/// background and answers <c>origin-key-unknown</c> (retry later), so the sender's re-send finds the key.
/// </summary>
internal static class OriginKeyResolver
{
    /// <summary>The key, or null with the rejection (<c>origin-key-unknown</c>, retry later, or <c>origin-not-pinned</c>).</summary>
    public static (AnnouncedKey? Key, ReceiveOutcome? Error) Resolve(ITrustSnapshot trustSnapshot, PeerKeyDirectory directory, SpiffeId origin,
        ReadOnlyMemory<byte> signerKeyId, uint hopCount, SignedKeyAnnouncement? carried)
    {
        ArgumentNullException.ThrowIfNull(trustSnapshot);
        ArgumentNullException.ThrowIfNull(directory);
        var originText = origin.ToString();
        var signingKey = directory.FindSigningKey(originText, signerKeyId.Span);
        string? announcementError = null;
        if (signingKey is null && hopCount > 0 && carried is not null)
        {
            // A relay attached the origin's own signed key announcement: usable only if we pin the origin's root.
            announcementError = directory.AcceptRelayedAnnouncement(originText, carried);
            signingKey = directory.FindSigningKey(originText, signerKeyId.Span);
        }

        if (signingKey is not null)
        {
            return (signingKey, null);
        }

        var trust = trustSnapshot.Current;
        var fetching = "";
        if (trust.Peers.ContainsKey(originText))
        {
            // The origin is a peer whose keys are not known yet (or were rotated): fetched in the background, never here.
            directory.RequestFetch(originText);
            fetching = "; its keys are being fetched, send again later";
        }

        return (null, trust.PinnedDomains.Contains(origin.TrustDomain)
            ? ReceiveOutcome.Reject(RejectReason.OriginKeyUnknown, $"no verifiable signing key of '{originText}' has this key id{(announcementError is null ? "" : " (" + announcementError + ")")}{fetching}")
            : ReceiveOutcome.Reject(RejectReason.OriginNotPinned, $"this node does not pin the root of '{origin.TrustDomain}', so the origin's signature cannot be verified"));
    }
}
