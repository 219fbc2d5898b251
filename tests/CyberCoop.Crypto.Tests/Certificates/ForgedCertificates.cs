using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto.Tests;

/// <summary>Builds deliberately wrong certificates signed by a real CA, for the negative tests.</summary>
internal static class ForgedCertificates
{
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    public static X509Certificate2 Leaf(
        CertificateAuthority issuer,
        string[] uris,
        bool isCa = false,
        X509KeyUsageFlags keyUsage = X509KeyUsageFlags.DigitalSignature,
        string[]? ekus = null,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null,
        byte[]? serial = null,
        byte[]? rawEkuExtension = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=forged, O=test", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, false, 0, true));
        if (keyUsage != X509KeyUsageFlags.None)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(keyUsage, true));
        }

        var oids = new OidCollection();
        foreach (var eku in ekus ?? [ServerAuth, ClientAuth])
        {
            oids.Add(new Oid(eku));
        }

        request.CertificateExtensions.Add(rawEkuExtension is null
            ? new X509EnhancedKeyUsageExtension(oids, false)
            : new X509Extension("2.5.29.37", rawEkuExtension, false));
        if (uris.Length > 0)
        {
            // Written by hand: System.Uri would normalize (lower-case the host), hiding the malformation.
            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                foreach (var uri in uris)
                {
                    writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
                }
            }

            request.CertificateExtensions.Add(new X509Extension("2.5.29.17", writer.Encode(), false));
        }
        else
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }

        var now = DateTimeOffset.UtcNow;
        using var cert = request.Create(
            issuer.CertificateWithKey,
            notBefore ?? now.AddMinutes(-5),
            notAfter ?? now.AddDays(1),
            serial ?? RandomNumberGenerator.GetBytes(16));
        return cert.CopyWithPrivateKey(key);
    }
}
