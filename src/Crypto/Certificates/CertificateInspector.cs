using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto;

/// <summary>Reads the extensions chain validation and trust anchors care about.</summary>
internal static class CertificateInspector
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag s_uriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>All URI entries of the subjectAltName extension (empty when there is none).</summary>
    public static IReadOnlyList<string> UriSans(X509Certificate2 cert)
    {
        var uris = new List<string>();
        foreach (var extension in cert.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                while (names.HasData)
                {
                    var tag = names.PeekTag();
                    if (tag.HasSameClassAndValue(s_uriTag))
                    {
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, s_uriTag));
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException ex)
            {
                throw new CryptographicException("certificate subjectAltName extension is malformed", ex);
            }
        }

        return uris;
    }

    /// <summary>
    /// subjectAltName with exactly the given URI (written verbatim: System.Uri would add a trailing '/' to
    /// <c>spiffe://domain</c>), plus optional DNS names and IP addresses.
    /// </summary>
    public static X509Extension BuildSubjectAltName(string uri, IEnumerable<string>? dnsNames = null, IEnumerable<System.Net.IPAddress>? addresses = null)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var dns in dnsNames ?? [])
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, dns, new Asn1Tag(TagClass.ContextSpecific, 2));
            }

            writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, s_uriTag);
            foreach (var address in addresses ?? [])
            {
                writer.WriteOctetString(address.GetAddressBytes(), new Asn1Tag(TagClass.ContextSpecific, 7));
            }
        }

        return new X509Extension(SubjectAltNameOid, writer.Encode(), false);
    }

    public static bool IsCertificateAuthority(X509Certificate2 cert) =>
        cert.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    public static X509KeyUsageFlags? KeyUsage(X509Certificate2 cert) =>
        cert.Extensions.OfType<X509KeyUsageExtension>().Select(k => (X509KeyUsageFlags?)k.KeyUsages).FirstOrDefault();

    /// <summary>The extendedKeyUsage OIDs; <see cref="CryptographicException"/> when the extension is malformed.</summary>
    public static IReadOnlySet<string> ExtendedKeyUsages(X509Certificate2 cert)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var eku in cert.Extensions.OfType<X509EnhancedKeyUsageExtension>())
        {
            foreach (var oid in eku.EnhancedKeyUsages)
            {
                if (oid.Value is not null)
                {
                    set.Add(oid.Value);
                }
            }
        }

        return set;
    }

    /// <summary>Trust domain named by a root's single SPIFFE URI SAN (<c>spiffe://&lt;domain&gt;</c>), or null.</summary>
    public static string? RootTrustDomain(X509Certificate2 cert)
    {
        var uris = UriSans(cert);
        if (uris.Count != 1 || !uris[0].StartsWith(SpiffeId.Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var domain = uris[0][SpiffeId.Prefix.Length..];
        return TrustDomains.IsValid(domain, out _) ? domain : null;
    }

    /// <summary>Canonical serial form: upper-case hex, no separators, no leading zero bytes.</summary>
    public static string NormalizeSerial(string serial)
    {
        var chars = serial.Where(c => !char.IsWhiteSpace(c) && c != ':').ToArray();
        var text = new string(chars).ToUpperInvariant().TrimStart('0');
        return text.Length == 0 ? "0" : text;
    }

    public static X509Certificate2 PublicOnly(X509Certificate2 cert) => X509CertificateLoader.LoadCertificate(cert.RawData);
}
