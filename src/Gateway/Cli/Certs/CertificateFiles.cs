using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>
/// File handling shared by the certificate commands: friendly errors for missing or unreadable
/// files, refusal to overwrite, private keys written with mode 0600.
/// </summary>
internal static class CertificateFiles
{
    /// <summary>File name of a domain's root certificate inside a CA folder.</summary>
    public const string RootCertificateName = "root.crt";

    /// <summary>File name of a domain's root private key inside a CA folder.</summary>
    public const string RootKeyName = "root.key";

    /// <summary>Loads the first certificate of a PEM file, or explains why it cannot.</summary>
    public static X509Certificate2 LoadCertificate(string path, string what)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new CliException($"{what} '{full}' does not exist");
        }

        try
        {
            return PemFiles.LoadCertificate(full);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException or InvalidDataException)
        {
            throw new CliException($"{what} '{full}' is not a PEM certificate: {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{what} '{full}' cannot be read: {ex.Message}");
        }
    }

    /// <summary>Loads a domain CA (root certificate and key) from <paramref name="caDirectory"/>.</summary>
    public static CertificateAuthority LoadAuthority(string caDirectory)
    {
        var directory = Path.GetFullPath(caDirectory);
        var certificate = Path.Combine(directory, RootCertificateName);
        var key = Path.Combine(directory, RootKeyName);
        foreach (var (path, what) in new[] { (certificate, "root certificate"), (key, "root key") })
        {
            if (!File.Exists(path))
            {
                throw new CliException($"{what} '{path}' does not exist (is '{directory}' a folder made by 'certs init-domain'?)");
            }
        }

        RefuseLooseKeyPermissions(key);
        try
        {
            return CertificateAuthority.Load(certificate, key);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException or InvalidDataException)
        {
            throw new CliException($"cannot load the CA in '{directory}': {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the CA in '{directory}': {ex.Message}");
        }
    }

    /// <summary>
    /// Refuses a private key file that group or others may read or write (like OpenSSH does): a root key
    /// that leaked to another account can mint identities of the whole nation.
    /// </summary>
    public static void RefuseLooseKeyPermissions(string keyPath)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode loose = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        var mode = File.GetUnixFileMode(keyPath);
        if ((mode & loose) != 0)
        {
            throw new CliException($"'{keyPath}' is accessible by other users (mode {Convert.ToString((int)mode, 8)}); " +
                $"a private key must be readable by its owner only: chmod 600 '{keyPath}'");
        }
    }

    /// <summary>Fails when any of <paramref name="paths"/> exists: the commands never overwrite keys or certificates silently.</summary>
    public static void RefuseExisting(params string[] paths)
    {
        foreach (var path in paths)
        {
            if (File.Exists(path) || Directory.Exists(path))
            {
                throw new CliException($"'{Path.GetFullPath(path)}' already exists; refusing to overwrite it (move it away first)");
            }
        }
    }

    /// <summary>Creates <paramref name="directory"/> when missing.</summary>
    public static string EnsureDirectory(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (File.Exists(full))
        {
            throw new CliException($"'{full}' is a file, not a folder");
        }

        Directory.CreateDirectory(full);
        return full;
    }

    /// <summary>Writes a certificate (PEM) and its private key (PEM, mode 0600).</summary>
    public static void WriteCertificateAndKey(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey()
            ?? throw new CryptographicException("the issued certificate has no ECDSA private key");
        PemFiles.WritePrivateKey(keyPath, key);
        PemFiles.WriteCertificate(certificatePath, certificate);
    }

    /// <summary>
    /// The SPIFFE id of a workload certificate issued by <paramref name="authority"/>, checked by validating its
    /// chain to that root as of the middle of its validity period (so an expired certificate can still be renewed,
    /// but one from another CA, a revoked-looking CA certificate or a malformed one cannot).
    /// </summary>
    public static SpiffeId IdentifyIssued(CertificateAuthority authority, X509Certificate2 certificate, string path)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(certificate);
        var middle = certificate.NotBefore.ToUniversalTime() + ((certificate.NotAfter - certificate.NotBefore) / 2);
        var validator = new ChainValidator([new TrustAnchor(authority.TrustDomain, authority.Certificate, authority.Pin)], time: new FixedTimeProvider(middle));
        var result = validator.Validate(certificate, null, CertificatePurpose.Client);
        if (!result.IsValid || result.Id is not { } id)
        {
            throw new CliException($"'{path}' was not issued by the CA of {authority.TrustDomain}: {result.Reason}");
        }

        return id;
    }

    /// <summary>
    /// The SPIFFE id of a workload certificate issued by any root of <paramref name="ca"/> (the current one or one retired by
    /// <c>certs rotate-root</c> whose key is still on hand), and the pin of the root that issued it.
    /// </summary>
    public static (SpiffeId Id, string IssuerPin) IdentifyIssued(DomainCaFolder ca, X509Certificate2 certificate, string path)
    {
        ArgumentNullException.ThrowIfNull(ca);
        CliException? first = null;
        foreach (var authority in new[] { ca.Current }.Concat(ca.Retired))
        {
            try
            {
                return (IdentifyIssued(authority, certificate, path), authority.Pin);
            }
            catch (CliException ex)
            {
                first ??= ex;
            }
        }

        if (ca.Retired.Count == 0)
        {
            throw first!;
        }

        throw new CliException($"'{path}' was not issued by the current root of {ca.TrustDomain} ({ca.Current.Pin}) nor by a retired one " +
            $"({string.Join(", ", ca.Retired.Select(r => r.Pin))}): {first!.Message}");
    }

    /// <summary>Parses a lifetime in days (1..<paramref name="maxDays"/>).</summary>
    public static TimeSpan Days(int days, int maxDays, string option)
    {
        if (days < 1 || days > maxDays)
        {
            throw CliException.Usage($"{option} {days} must be between 1 and {maxDays}");
        }

        return TimeSpan.FromDays(days);
    }

    /// <summary>UTC time formatted for operators.</summary>
    public static string Format(DateTime time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
