using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto;

/// <summary>
/// A root certificate trusted for exactly one trust domain, pinned by the SHA-256 of its SPKI.
/// The constructor validates: the domain is a valid trust domain, the root is a self-issued CA
/// certificate, its SPIFFE URI SAN (if any) names the same domain, and the pin matches.
/// </summary>
public sealed record TrustAnchor
{
    /// <summary>Creates an anchor; <see cref="ArgumentException"/> naming the problem when inconsistent.</summary>
    public TrustAnchor(string TrustDomain, X509Certificate2 Root, string Pin)
    {
        TrustDomains.ThrowIfInvalid(TrustDomain, nameof(TrustDomain));
        ArgumentNullException.ThrowIfNull(Root);
        if (!SpkiPin.TryNormalize(Pin, out var normalized, out var pinError))
        {
            throw new ArgumentException($"pin for trust domain '{TrustDomain}' is malformed: {pinError}", nameof(Pin));
        }

        if (!CertificateInspector.IsCertificateAuthority(Root))
        {
            throw new ArgumentException($"root for trust domain '{TrustDomain}' is not a CA certificate", nameof(Root));
        }

        if (Root.SubjectName.RawData.AsSpan().SequenceEqual(Root.IssuerName.RawData) is false)
        {
            throw new ArgumentException($"root for trust domain '{TrustDomain}' is not self-issued (subject '{Root.Subject}', issuer '{Root.Issuer}')", nameof(Root));
        }

        var uris = CertificateInspector.UriSans(Root);
        if (uris.Count > 0)
        {
            var domain = CertificateInspector.RootTrustDomain(Root);
            if (!string.Equals(domain, TrustDomain, StringComparison.Ordinal))
            {
                throw new ArgumentException($"root names trust domain '{domain ?? uris[0]}' in its URI SAN but is configured for '{TrustDomain}'", nameof(Root));
            }
        }

        if (!SpkiPin.Matches(Root, normalized))
        {
            throw new ArgumentException($"pin {normalized} does not match the root of trust domain '{TrustDomain}' (its pin is {SpkiPin.Compute(Root)})", nameof(Pin));
        }

        this.TrustDomain = TrustDomain;
        this.Root = CertificateInspector.PublicOnly(Root);
        this.Pin = normalized;
    }

    /// <summary>The trust domain this root authenticates (and only this one).</summary>
    public string TrustDomain { get; }

    /// <summary>The root certificate (public part only).</summary>
    public X509Certificate2 Root { get; }

    /// <summary>Canonical SPKI pin of <see cref="Root"/>.</summary>
    public string Pin { get; }

    /// <summary>Anchor for a CyberCoop root whose URI SAN names its domain, pinned to its own SPKI (for a node's own root).</summary>
    public static TrustAnchor FromRoot(X509Certificate2 root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var domain = CertificateInspector.RootTrustDomain(root)
            ?? throw new ArgumentException("root has no single valid 'spiffe://<trust-domain>' URI SAN; give the trust domain explicitly", nameof(root));
        return new TrustAnchor(domain, root, SpkiPin.Compute(root));
    }

    /// <summary>Deconstructs into its parts.</summary>
    public void Deconstruct(out string trustDomain, out X509Certificate2 root, out string pin)
    {
        trustDomain = TrustDomain;
        root = Root;
        pin = Pin;
    }
}
