using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto;

/// <summary>
/// ECDSA P-256 / SHA-256 signatures (DER, RFC 3279) with a workload's TLS identity key over
/// <c>context || 0x00 || message</c>; used for key announcements.
/// </summary>
public static class IdentitySignatures
{
    /// <summary>Signs with the certificate's ECDSA private key.</summary>
    public static byte[] Sign(SignaturePurpose purpose, ReadOnlySpan<byte> message, X509Certificate2 certWithKey)
    {
        ArgumentNullException.ThrowIfNull(certWithKey);
        using var key = certWithKey.GetECDsaPrivateKey()
            ?? throw new ArgumentException("certificate has no ECDSA private key attached", nameof(certWithKey));
        var framed = SignatureContexts.Frame(purpose, message);
        return key.SignData(framed, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>Verifies against the certificate's public key; false on any mismatch or malformed signature.</summary>
    public static bool Verify(SignaturePurpose purpose, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature, X509Certificate2 cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        using var key = cert.GetECDsaPublicKey()
            ?? throw new KeyFormatException("certificate does not hold an ECDSA public key");
        var framed = SignatureContexts.Frame(purpose, message);
        try
        {
            return key.VerifyData(framed, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
