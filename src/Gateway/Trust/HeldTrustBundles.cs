using CyberCoop.Crypto;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;

namespace CyberCoop.Gateway.Trust;

/// <summary>Restores the peer bundles held in the database at start.</summary>
internal static class HeldTrustBundles
{
    /// <summary>
    /// Re-parses and re-checks every stored bundle (signed by a root it lists, well formed; expiry is judged at the
    /// next refresh). A row that no longer verifies is skipped and reported, so trust falls back to the pinned root.
    /// </summary>
    public static Dictionary<string, HeldTrustBundle> Restore(IReadOnlyList<StoredTrustBundle> stored, DateTimeOffset now, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(problems);
        var held = new Dictionary<string, HeldTrustBundle>(StringComparer.Ordinal);
        foreach (var row in stored)
        {
            SignedTrustBundle signed;
            try
            {
                signed = SignedTrustBundle.Parser.ParseFrom(row.Signed);
            }
            catch (InvalidProtocolBufferException ex)
            {
                problems.Add($"held trust bundle of {row.TrustDomain} is malformed: {ex.Message}");
                continue;
            }

            var verified = TrustBundleVerifier.VerifySelfSigned(signed, now, out var error);
            if (verified is null || verified.TrustDomain != row.TrustDomain || verified.Sequence != row.Sequence)
            {
                problems.Add($"held trust bundle of {row.TrustDomain} does not verify: {error ?? "domain or sequence differs from its row"}");
                continue;
            }

            held[row.TrustDomain] = new HeldTrustBundle(row.AnchorPin, verified, row.AcceptedAt);
        }

        return held;
    }
}
