using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CyberCoop.Crypto;

/// <summary>Reading and writing PEM certificate and private key files (keys written 0600, all writes atomic).</summary>
public static class PemFiles
{
    /// <summary>Writes one certificate as PEM, atomically.</summary>
    public static void WriteCertificate(string path, X509Certificate2 cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        WriteCertificateChain(path, [cert]);
    }

    /// <summary>Writes certificates as concatenated PEM blocks (leaf first by convention), atomically.</summary>
    public static void WriteCertificateChain(string path, IEnumerable<X509Certificate2> chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var builder = new StringBuilder();
        foreach (var cert in chain)
        {
            ArgumentNullException.ThrowIfNull(cert);
            builder.Append(PemEncoding.Write("CERTIFICATE", cert.RawData)).Append('\n');
        }

        if (builder.Length == 0)
        {
            throw new ArgumentException("certificate chain is empty", nameof(chain));
        }

        SecureFile.WriteAllText(path, builder.ToString(), secret: false);
    }

    /// <summary>Writes the certificate's ECDSA private key as PKCS#8 PEM; the file is 0600 from creation and written atomically.</summary>
    public static void WritePrivateKey(string path, X509Certificate2 certWithKey)
    {
        ArgumentNullException.ThrowIfNull(certWithKey);
        using var key = certWithKey.GetECDsaPrivateKey()
            ?? throw new ArgumentException("certificate has no ECDSA private key attached", nameof(certWithKey));
        WritePrivateKey(path, key);
    }

    /// <summary>Writes an ECDSA private key as PKCS#8 PEM; 0600 from creation, atomic.</summary>
    public static void WritePrivateKey(string path, ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var pkcs8 = ExportPkcs8(key);
        var chars = PemEncoding.Write("PRIVATE KEY", pkcs8);
        try
        {
            var bytes = Encoding.ASCII.GetBytes(chars);
            try
            {
                var withNewline = new byte[bytes.Length + 1];
                bytes.CopyTo(withNewline, 0);
                withNewline[^1] = (byte)'\n';
                SecureFile.WriteAllBytes(path, withNewline, secret: true);
                CryptographicOperations.ZeroMemory(withNewline);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(bytes);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            Array.Clear(chars);
        }
    }

    /// <summary>Loads the first certificate of a PEM file.</summary>
    public static X509Certificate2 LoadCertificate(string path)
    {
        var all = LoadCertificates(path);
        return all[0];
    }

    /// <summary>Loads all certificates of a PEM file, in file order; at least one.</summary>
    public static X509Certificate2Collection LoadCertificates(string path)
    {
        var text = SecureFile.ReadAllText(path, "certificate");
        var collection = new X509Certificate2Collection();
        var remaining = text.AsSpan();
        var offset = 0;
        while (PemEncoding.TryFind(remaining, out var fields))
        {
            var label = remaining[fields.Label];
            if (label.SequenceEqual("CERTIFICATE"))
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(remaining[fields.Base64Data], der, out _))
                {
                    throw new CryptoFileException(path, "certificate PEM block has invalid base64");
                }

                try
                {
                    collection.Add(X509CertificateLoader.LoadCertificate(der));
                }
                catch (CryptographicException ex)
                {
                    throw new CryptoFileException(path, $"certificate #{collection.Count + 1} is not a valid X.509 certificate: {ex.Message}", ex);
                }
            }
            else if (label.Contains("PRIVATE KEY", StringComparison.Ordinal))
            {
                throw new CryptoFileException(path, "contains a private key where only certificates are expected; refusing to read it as a certificate file");
            }

            offset += fields.Location.End.Value;
            remaining = text.AsSpan(offset);
        }

        if (collection.Count == 0)
        {
            throw new CryptoFileException(path, "contains no PEM 'CERTIFICATE' block");
        }

        return collection;
    }

    /// <summary>Loads an ECDSA P-256 private key from a PKCS#8 (or SEC1) PEM file.</summary>
    public static ECDsa LoadPrivateKey(string path)
    {
        var text = SecureFile.ReadAllText(path, "private key");
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(text);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException or PlatformNotSupportedException)
        {
            // PlatformNotSupportedException: a key naming a curve OpenSSL does not know (found by fuzzing: a P-256 key
            // whose curve OID had one byte changed escaped as an unhandled exception).
            key.Dispose();
            throw new CryptoFileException(path, "is not a PEM ECDSA private key (expected 'PRIVATE KEY' or 'EC PRIVATE KEY'): " + ex.Message, ex);
        }

        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new CryptoFileException(path, $"private key is ECDSA-{key.KeySize}; CyberCoop uses P-256");
        }

        return key;
    }

    /// <summary>
    /// Loads a certificate (first block of <paramref name="certificatePath"/>) and its private key into a
    /// certificate usable by <c>SslStream</c>. Throws <see cref="CryptoFileException"/> naming the file on any problem.
    /// </summary>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string keyPath)
    {
        using var cert = LoadCertificate(certificatePath);
        using var key = LoadPrivateKey(keyPath);
        return Combine(cert, key, certificatePath, keyPath);
    }

    internal static X509Certificate2 Combine(X509Certificate2 cert, ECDsa key, string certificatePath, string keyPath)
    {
        using var certKey = cert.GetECDsaPublicKey()
            ?? throw new CryptoFileException(certificatePath, "certificate does not hold an ECDSA public key");
        if (!CryptographicOperations.FixedTimeEquals(certKey.ExportSubjectPublicKeyInfo(), key.ExportSubjectPublicKeyInfo()))
        {
            throw new CryptoFileException(keyPath, $"private key does not match the certificate in '{certificatePath}'");
        }

        var combined = cert.CopyWithPrivateKey(key);
        if (!OperatingSystem.IsWindows())
        {
            return combined;
        }

        // Windows SChannel cannot use ephemeral keys; re-import through PKCS#12.
        using (combined)
        {
            var pfx = combined.Export(X509ContentType.Pkcs12);
            try
            {
                return X509CertificateLoader.LoadPkcs12(pfx, null);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pfx);
            }
        }
    }

    private static byte[] ExportPkcs8(ECDsa key)
    {
        try
        {
            return key.ExportPkcs8PrivateKey();
        }
        catch (CryptographicException)
        {
            // Some platform keys only export encrypted; round-trip through an encrypted export.
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            var encrypted = key.ExportEncryptedPkcs8PrivateKey(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1));
            using var copy = ECDsa.Create();
            copy.ImportEncryptedPkcs8PrivateKey(password, encrypted, out _);
            return copy.ExportPkcs8PrivateKey();
        }
    }
}
