using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto;

/// <summary>
/// A trust domain's certificate authority (ECDSA P-256): issues SPIFFE workload certificates and signs
/// trust bundles. Holds the private key; dispose when done.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    /// <summary>Default root lifetime.</summary>
    public static readonly TimeSpan DefaultRootLifetime = TimeSpan.FromDays(3652);

    /// <summary>
    /// Default workload certificate lifetime (30 days): the one default of the library, <c>certs issue</c>,
    /// <c>certs renew</c> and <c>certs dev</c> (docs/crypto.md §3).
    /// </summary>
    public static readonly TimeSpan DefaultLeafLifetime = TimeSpan.FromDays(30);

    /// <summary>How far notBefore is backdated to tolerate clock skew.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    internal const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    internal const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2 _certificateWithKey;
    private readonly ECDsa _key;
    private bool _disposed;

    private CertificateAuthority(string trustDomain, X509Certificate2 certificateWithKey, ECDsa key, IReadOnlyList<X509Certificate2> issuerChain)
    {
        TrustDomain = trustDomain;
        _certificateWithKey = certificateWithKey;
        _key = key;
        Certificate = CertificateInspector.PublicOnly(certificateWithKey);
        Pin = SpkiPin.Compute(Certificate);
        IssuerChain = issuerChain;
    }

    /// <summary>The trust domain this CA authenticates.</summary>
    public string TrustDomain { get; }

    /// <summary>The CA certificate without its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>SPKI pin of <see cref="Certificate"/> (<c>sha256:...</c>).</summary>
    public string Pin { get; }

    /// <summary>Whether this CA is the self-signed root of its domain (otherwise an intermediate).</summary>
    public bool IsRoot => IssuerChain.Count == 0;

    /// <summary>
    /// Certificates above this CA up to and including the root (empty for a root). Workloads present
    /// <c>leaf + <see cref="Certificate"/> + IssuerChain without the root</c>; see <see cref="ChainFor"/>.
    /// </summary>
    public IReadOnlyList<X509Certificate2> IssuerChain { get; }

    /// <summary>The root certificate of this CA's domain (this CA's own certificate when it is the root).</summary>
    public X509Certificate2 RootCertificate => IssuerChain.Count == 0 ? Certificate : IssuerChain[^1];

    internal X509Certificate2 CertificateWithKey => _certificateWithKey;

    /// <summary>
    /// Creates a self-signed root for <paramref name="trustDomain"/>: subject <c>CN=&lt;domain&gt; root, O=CyberCoop</c>,
    /// basicConstraints cA=true (critical), keyUsage keyCertSign|cRLSign (critical), URI SAN <c>spiffe://&lt;domain&gt;</c>.
    /// </summary>
    public static CertificateAuthority CreateRoot(string trustDomain, TimeProvider? time = null, TimeSpan? lifetime = null)
    {
        TrustDomains.ThrowIfInvalid(trustDomain, nameof(trustDomain));
        var validFor = lifetime ?? DefaultRootLifetime;
        if (validFor <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, "lifetime must be positive");
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var subject = new X500DistinguishedNameBuilder();
            subject.AddOrganizationName("CyberCoop");
            subject.AddCommonName($"{trustDomain} root");
            var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(CertificateInspector.BuildSubjectAltName(SpiffeId.Prefix + trustDomain));
            var cert = request.CreateSelfSigned(now - ClockSkewAllowance, now + validFor);
            return new CertificateAuthority(trustDomain, cert, key, []);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads a CA from its certificate and PKCS#8 key PEM files; <see cref="CryptoFileException"/> naming the file on any problem.</summary>
    public static CertificateAuthority Load(string certificatePemPath, string privateKeyPemPath)
    {
        var all = PemFiles.LoadCertificates(certificatePemPath);
        using var cert = all[0];
        var issuerChain = all.Skip(1).ToArray();
        if (!CertificateInspector.IsCertificateAuthority(cert))
        {
            throw new CryptoFileException(certificatePemPath, "certificate is not a CA certificate (basicConstraints cA=false or missing)");
        }

        var domain = CertificateInspector.RootTrustDomain(cert)
            ?? throw new CryptoFileException(certificatePemPath, "CA certificate has no single valid 'spiffe://<trust-domain>' URI SAN");
        var key = PemFiles.LoadPrivateKey(privateKeyPemPath);
        try
        {
            var combined = PemFiles.Combine(cert, key, certificatePemPath, privateKeyPemPath);
            if (issuerChain.Length == 0 && !cert.SubjectName.RawData.AsSpan().SequenceEqual(cert.IssuerName.RawData))
            {
                throw new CryptoFileException(certificatePemPath, "CA certificate is not self-issued, and the file does not hold its issuer chain (write the intermediate followed by its issuers up to the root)");
            }

            return new CertificateAuthority(domain, combined, key, issuerChain);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Issues a workload certificate for <paramref name="id"/> with the private key attached: exactly one URI SAN,
    /// cA=false, keyUsage digitalSignature, EKU serverAuth+clientAuth for gateways and clientAuth otherwise,
    /// random 16-byte serial, notBefore backdated by <see cref="ClockSkewAllowance"/>. Gateways also get
    /// DNS SAN <c>localhost</c> and IP SAN 127.0.0.1 so loopback TLS works.
    /// </summary>
    public X509Certificate2 Issue(SpiffeId id, TimeSpan? lifetime = null, ECDsa? subjectKey = null, TimeProvider? time = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!SpiffeId.TryParse(id.ToString(), out var checkedId, out var idError) || checkedId != id)
        {
            throw new ArgumentException($"invalid SPIFFE id: {idError ?? "not canonical"}", nameof(id));
        }

        if (!string.Equals(id.TrustDomain, TrustDomain, StringComparison.Ordinal))
        {
            throw new ArgumentException($"identity '{id}' belongs to trust domain '{id.TrustDomain}', but this CA issues for '{TrustDomain}'", nameof(id));
        }

        var validFor = lifetime ?? DefaultLeafLifetime;
        if (validFor <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, "lifetime must be positive");
        }

        if (subjectKey is not null && subjectKey.KeySize != 256)
        {
            throw new ArgumentException($"subject key is ECDSA-{subjectKey.KeySize}; CyberCoop uses P-256", nameof(subjectKey));
        }

        var (notBefore, notAfter) = ValidityWindow(validFor, time);

        var ownsKey = subjectKey is null;
        var key = subjectKey ?? ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var subject = new X500DistinguishedNameBuilder();
            subject.AddOrganizationName(TrustDomain);
            subject.AddOrganizationalUnitName(SpiffeId.KindSegment(id.Kind));
            subject.AddCommonName(id.Name);
            var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            var ekus = new OidCollection();
            if (id.Kind == WorkloadKind.Gateway)
            {
                ekus.Add(new Oid(ServerAuthOid));
            }

            ekus.Add(new Oid(ClientAuthOid));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(ekus, false));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
            var isGateway = id.Kind == WorkloadKind.Gateway;
            request.CertificateExtensions.Add(CertificateInspector.BuildSubjectAltName(
                id.ToString(),
                isGateway ? ["localhost"] : null,
                isGateway ? [IPAddress.Loopback] : null));
            using var issued = request.Create(_certificateWithKey, notBefore, notAfter, NewSerial());
            return issued.CopyWithPrivateKey(key);
        }
        finally
        {
            if (ownsKey)
            {
                key.Dispose();
            }
        }
    }

    /// <summary>
    /// Creates an intermediate CA of the same trust domain signed by this CA (basicConstraints cA=true,
    /// pathLen 0, keyCertSign|cRLSign, URI SAN <c>spiffe://&lt;domain&gt;</c>). Default lifetime 1 year,
    /// capped at this CA's notAfter.
    /// </summary>
    public CertificateAuthority CreateIntermediate(string name, TimeSpan? lifetime = null, TimeProvider? time = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var (notBefore, notAfter) = ValidityWindow(lifetime ?? TimeSpan.FromDays(365), time);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var subject = new X500DistinguishedNameBuilder();
            subject.AddOrganizationName("CyberCoop");
            subject.AddCommonName($"{TrustDomain} {name}");
            var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
            request.CertificateExtensions.Add(CertificateInspector.BuildSubjectAltName(SpiffeId.Prefix + TrustDomain));
            using var issued = request.Create(_certificateWithKey, notBefore, notAfter, NewSerial());
            var withKey = issued.CopyWithPrivateKey(key);
            return new CertificateAuthority(TrustDomain, withKey, key, [CertificateInspector.PublicOnly(Certificate), .. IssuerChain.Select(CertificateInspector.PublicOnly)]);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The certificates a workload presents after its leaf (the intermediates, never the root): empty for a
    /// root CA, otherwise this CA's certificate followed by the intermediates above it.
    /// </summary>
    public X509Certificate2Collection ChainFor()
    {
        var collection = new X509Certificate2Collection();
        if (IsRoot)
        {
            return collection;
        }

        collection.Add(Certificate);
        foreach (var cert in IssuerChain.Take(IssuerChain.Count - 1))
        {
            collection.Add(cert);
        }

        return collection;
    }

    /// <summary>Writes the CA certificate (PEM) and private key (PKCS#8 PEM, 0600), both atomically.</summary>
    public void Save(string certificatePemPath, string privateKeyPemPath)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        PemFiles.WritePrivateKey(privateKeyPemPath, _key);
        PemFiles.WriteCertificateChain(certificatePemPath, [Certificate, .. IssuerChain]);
    }

    /// <summary>
    /// ECDSA P-256 / SHA-256 signature (DER) over <c>context || 0x00 || data</c> with the CA key; used for
    /// signed trust bundles (<see cref="SignatureContexts.TrustBundle"/>).
    /// </summary>
    public byte[] SignData(ReadOnlySpan<byte> context, ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var message = SignatureContexts.Frame(context, data);
        return _key.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>Verifies a <see cref="SignData"/> signature against a CA certificate.</summary>
    public static bool VerifyData(X509Certificate2 caCertificate, ReadOnlySpan<byte> context, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(caCertificate);
        using var key = caCertificate.GetECDsaPublicKey()
            ?? throw new KeyFormatException("certificate does not hold an ECDSA public key");
        var message = SignatureContexts.Frame(context, data);
        return key.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    private (DateTimeOffset NotBefore, DateTimeOffset NotAfter) ValidityWindow(TimeSpan validFor, TimeProvider? time)
    {
        if (validFor <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(validFor), validFor, "lifetime must be positive");
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var notBefore = now - ClockSkewAllowance;
        var notAfter = now + validFor;
        var issuerNotAfter = new DateTimeOffset(_certificateWithKey.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter > issuerNotAfter)
        {
            notAfter = issuerNotAfter;
        }

        var issuerNotBefore = new DateTimeOffset(_certificateWithKey.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        if (notBefore < issuerNotBefore)
        {
            notBefore = issuerNotBefore;
        }

        if (notAfter <= notBefore)
        {
            throw new InvalidOperationException($"CA certificate of '{TrustDomain}' is not valid at {now:O}; cannot issue");
        }

        return (notBefore, notAfter);
    }

    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40); // positive and always 16 bytes long
        return serial;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _certificateWithKey.Dispose();
        _key.Dispose();
        Certificate.Dispose();
        foreach (var cert in IssuerChain)
        {
            cert.Dispose();
        }
    }
}
