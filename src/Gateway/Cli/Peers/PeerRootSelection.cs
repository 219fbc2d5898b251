using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf;

namespace CyberCoop.Gateway.Cli.Peers;

/// <summary>
/// Chooses, from what a live peer offered, the root to pin: it must be a root of the stated trust domain
/// carried in the peer's trust bundle, match the pin the operator was given (or the root file given), and the
/// certificate the peer presented in the TLS handshake must chain to it and name exactly the stated gateway.
/// Every refusal names what did not match; nothing is written by this class.
/// </summary>
internal static class PeerRootSelection
{
    /// <summary>Returns the root to pin (the caller disposes it) or throws <see cref="CliException"/>.</summary>
    public static X509Certificate2 Select(PeerOffer offer, SpiffeId peerId, string authority, X509Certificate2? givenRoot, string? expectedPin)
    {
        ArgumentNullException.ThrowIfNull(offer);
        var claimed = new ChainValidator([]).Validate(offer.Leaf, null, CertificatePurpose.Server);
        if (claimed.Id is not { } presented)
        {
            throw new CliException($"{authority} presented a certificate that is not a CyberCoop gateway certificate: {claimed.Reason}");
        }

        if (presented.TrustDomain != peerId.TrustDomain)
        {
            throw new CliException($"{authority} is {presented}, of trust domain {presented.TrustDomain}, not of {peerId.TrustDomain} as stated by --id; nothing was changed");
        }

        if (presented != peerId)
        {
            throw new CliException($"{authority} is {presented}, not {peerId}; nothing was changed");
        }

        var roots = OfferedRoots(offer.Bundle, peerId.TrustDomain, authority);
        try
        {
            X509Certificate2 root;
            if (givenRoot is not null)
            {
                var givenPin = SpkiPin.Compute(givenRoot);
                root = roots.FirstOrDefault(r => SpkiPin.Compute(r) == givenPin)
                    ?? throw new CliException($"{authority} offers root(s) {Pins(roots)}, not the one in --root ({givenPin}); nothing was changed");
            }
            else if (expectedPin is not null)
            {
                root = roots.FirstOrDefault(r => SpkiPin.Matches(r, expectedPin))
                    ?? throw new CliException($"pin mismatch: the root offered by {authority} has pin {Pins(roots)} but --pin is {expectedPin}; nothing was changed. " +
                        "Check the pin with the other domain's operator over a channel you trust.");
            }
            else
            {
                root = roots.FirstOrDefault(r => Validate(r, offer.Leaf, peerId.TrustDomain).IsValid) ?? roots[0];
            }

            var validation = Validate(root, offer.Leaf, peerId.TrustDomain);
            if (!validation.IsValid)
            {
                throw new CliException($"the certificate presented by {authority} does not validate against the root {SpkiPin.Compute(root)}: {validation.Reason}");
            }

            return X509CertificateLoader.LoadCertificate(root.RawData);
        }
        finally
        {
            foreach (var offered in roots)
            {
                offered.Dispose();
            }
        }
    }

    private static ChainValidationResult Validate(X509Certificate2 root, X509Certificate2 leaf, string trustDomain) =>
        new ChainValidator([RootPinning.Anchor(trustDomain, root)]).Validate(leaf, null, CertificatePurpose.Server);

    private static List<X509Certificate2> OfferedRoots(SignedTrustBundle signed, string trustDomain, string authority)
    {
        TrustBundle bundle;
        try
        {
            bundle = TrustBundle.Parser.ParseFrom(signed.Bundle);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new CliException($"the trust bundle served by {authority} cannot be read: {ex.Message}");
        }

        if (bundle.TrustDomain != trustDomain)
        {
            throw new CliException($"{authority} serves the trust bundle of {bundle.TrustDomain}, not of {trustDomain}; nothing was changed");
        }

        var roots = new List<X509Certificate2>();
        foreach (var der in bundle.RootCertificates)
        {
            try
            {
                roots.Add(X509CertificateLoader.LoadCertificate(der.Span));
            }
            catch (CryptographicException ex)
            {
                roots.ForEach(r => r.Dispose());
                throw new CliException($"the trust bundle served by {authority} holds a root that is not a certificate: {ex.Message}");
            }
        }

        if (roots.Count == 0)
        {
            throw new CliException($"the trust bundle served by {authority} holds no root certificate");
        }

        return roots;
    }

    private static string Pins(IEnumerable<X509Certificate2> roots) => string.Join(", ", roots.Select(SpkiPin.Compute));
}
