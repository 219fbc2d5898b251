using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// Makes root-signed trust bundles (operator side; the gateway never holds a root key). Every root given signs
/// the same serialized bytes.
/// </summary>
internal static class TrustBundleSigner
{
    /// <summary>A bundle of <paramref name="trustDomain"/> listing <paramref name="roots"/>, valid from now for <paramref name="lifetime"/>.</summary>
    public static TrustBundle Create(string trustDomain, ulong sequence, IEnumerable<System.Security.Cryptography.X509Certificates.X509Certificate2> roots,
        IEnumerable<string> revokedSerials, DateTimeOffset now, TimeSpan lifetime, uint refreshHintSeconds = TrustBundleVerifier.DefaultRefreshSeconds)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(revokedSerials);
        var bundle = new TrustBundle
        {
            TrustDomain = trustDomain,
            Sequence = sequence,
            IssuedAt = Timestamp.FromDateTimeOffset(now),
            ExpiresAt = Timestamp.FromDateTimeOffset(now + lifetime),
            RefreshHintSeconds = refreshHintSeconds,
        };
        bundle.RootCertificates.Add(roots.Select(r => ByteString.CopyFrom(r.RawData)));
        bundle.RevokedSerials.Add(revokedSerials);
        return bundle;
    }

    /// <summary>Serializes <paramref name="bundle"/> once and signs those bytes with every one of <paramref name="signers"/>.</summary>
    public static SignedTrustBundle Sign(TrustBundle bundle, IEnumerable<CertificateAuthority> signers)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(signers);
        var bytes = bundle.ToByteArray();
        var signed = new SignedTrustBundle { Bundle = ByteString.CopyFrom(bytes) };
        foreach (var signer in signers)
        {
            signed.Signatures.Add(new RootSignature
            {
                RootSpkiSha256 = ByteString.CopyFrom(SpkiPin.ComputeBytes(signer.Certificate)),
                Signature = ByteString.CopyFrom(signer.SignData(SignatureContexts.BytesFor(SignaturePurpose.TrustBundle), bytes)),
            });
        }

        if (signed.Signatures.Count == 0)
        {
            throw new ArgumentException("a trust bundle needs at least one root signature", nameof(signers));
        }

        return signed;
    }
}
