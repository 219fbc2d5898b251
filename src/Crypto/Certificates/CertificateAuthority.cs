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

    /// <summary>Default workload certificate lifetime.</summary>
    public static readonly TimeSpan DefaultLeafLifetime = TimeSpan.FromDays(7);

    /// <summary>How far notBefore is backdated to tolerate clock skew.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    internal const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    internal const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2 _certificateWithKey;
    private readonly ECDsa _key;
    private bool _disposed;

    private CertificateAuthority(string trustDomain, X509Certificate2 certificateWithKey, ECDsa key)
    {
        TrustDomain = trustDomain;
        _certificateWithKey = certificateWithKey;
        _key = key;
        Certificate = CertificateInspector.PublicOnly(certificateWithKey);
        Pin = SpkiPin.Compute(Certificate);
    }

    /// <summary>The trust domain this CA authenticates.</summary>
    public string TrustDomain { get; }

    /// <summary>The CA certificate without its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>SPKI pin of <see cref="Certificate"/> (<c>sha256:...</c>).</summary>
    public string Pin { get; }

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
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri(SpiffeId.Prefix + trustDomain, UriKind.Absolute));
            request.CertificateExtensions.Add(san.Build(critical: false));
            var cert = request.CreateSelfSigned(now - ClockSkewAllowance, now + validFor);
            return new CertificateAuthority(trustDomain, cert, key);
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
        using var cert = PemFiles.LoadCertificate(certificatePemPath);
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
            return new CertificateAuthority(domain, combined, key);
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
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(id.ToUri());
            if (id.Kind == WorkloadKind.Gateway)
            {
                san.AddDnsName("localhost");
                san.AddIpAddress(IPAddress.Loopback);
            }

            request.CertificateExtensions.Add(san.Build(critical: false));
            var serial = RandomNumberGenerator.GetBytes(16);
            serial[0] = (byte)((serial[0] & 0x7F) | 0x40); // positive, always 16 bytes
            using var issued = request.Create(_certificateWithKey, notBefore, notAfter, serial);
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

    /// <summary>Writes the CA certificate (PEM) and private key (PKCS#8 PEM, 0600), both atomically.</summary>
    public void Save(string certificatePemPath, string privateKeyPemPath)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        PemFiles.WritePrivateKey(privateKeyPemPath, _key);
        PemFiles.WriteCertificate(certificatePemPath, Certificate);
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
    }
}
