using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Inbound;

/// <summary>
/// Finds the signing key an origin announced under a key id, for anything the origin signs (bundles, withdrawals):
/// from the keys held; else, for relayed content, from the origin's own signed key announcement the relay attached
/// (usable only when this node pins the origin's root); else, when the origin is a peer, by fetching its trust bundle.
/// </summary>
internal static class OriginKeyResolver
{
    /// <summary>The key, or null with the rejection (<c>origin-key-unknown</c>, retry later, or <c>origin-not-pinned</c>).</summary>
    public static async Task<(AnnouncedKey? Key, ReceiveOutcome? Error)> ResolveAsync(ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, PeerKeyDirectory directory, SpiffeId origin,
        ReadOnlyMemory<byte> signerKeyId, uint hopCount, SignedKeyAnnouncement? carried, CancellationToken ct)
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

        if (signingKey is null && trustSnapshot.Current.Peers.TryGetValue(originText, out var originPeer))
        {
            // The origin is pinned but its keys are not known yet (or were rotated): fetch them now.
            using var channel = PeerChannelFactory.Create(trustSnapshot, nodeIdentity, originPeer);
            try
            {
                await directory.RefreshAsync(originPeer, new Contracts.V1.Federation.FederationClient(channel), ct).ConfigureAwait(false);
            }
            catch (Grpc.Core.RpcException)
            {
                // Reported below as an unknown key.
            }

            signingKey = directory.FindSigningKey(originText, signerKeyId.Span);
        }

        if (signingKey is not null)
        {
            return (signingKey, null);
        }

        var pinned = trustSnapshot.Current.PinnedDomains.Contains(origin.TrustDomain);
        return (null, pinned
            ? ReceiveOutcome.Reject(RejectReason.OriginKeyUnknown, $"no verifiable signing key of '{originText}' has this key id{(announcementError is null ? "" : " (" + announcementError + ")")}")
            : ReceiveOutcome.Reject(RejectReason.OriginNotPinned, $"this node does not pin the root of '{origin.TrustDomain}', so the origin's signature cannot be verified"));
    }
}
