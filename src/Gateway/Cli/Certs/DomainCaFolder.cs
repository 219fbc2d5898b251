using System.Security.Cryptography;
using CyberCoop.Crypto;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>
/// A trust domain's CA folder as the certificate commands keep it: the current root (<c>root.crt</c>, <c>root.key</c>),
/// roots replaced by <c>certs rotate-root</c> (<c>retired/root-&lt;pin prefix&gt;.crt|.key</c>, kept so they can co-sign
/// bundles while peers still trust them) and the domain's root-signed trust bundle (<c>trust-bundle.pb</c>).
/// </summary>
internal sealed class DomainCaFolder : IDisposable
{
    /// <summary>Sub-folder of retired roots.</summary>
    public const string RetiredFolder = "retired";

    private DomainCaFolder(string directory, CertificateAuthority current, IReadOnlyList<CertificateAuthority> retired)
    {
        Directory = directory;
        Current = current;
        Retired = retired;
    }

    /// <summary>The folder (absolute).</summary>
    public string Directory { get; }

    /// <summary>The current root: issues certificates and signs every bundle.</summary>
    public CertificateAuthority Current { get; }

    /// <summary>Earlier roots whose keys are still on hand.</summary>
    public IReadOnlyList<CertificateAuthority> Retired { get; }

    /// <summary>Trust domain of the folder.</summary>
    public string TrustDomain => Current.TrustDomain;

    /// <summary>Default bundle path of a CA folder.</summary>
    public static string BundlePath(string caDirectory) => Path.Combine(Path.GetFullPath(caDirectory), Trust.TrustBundleFile.DefaultName);

    /// <summary>Path of a retired root's certificate and key for <paramref name="pin"/>.</summary>
    public static (string Certificate, string Key) RetiredPaths(string caDirectory, string pin)
    {
        var name = "root-" + pin[SpkiPin.Prefix.Length..][..16];
        var folder = Path.Combine(Path.GetFullPath(caDirectory), RetiredFolder);
        return (Path.Combine(folder, name + ".crt"), Path.Combine(folder, name + ".key"));
    }

    /// <summary>Loads the current root and every retired root of <paramref name="caDirectory"/>.</summary>
    public static DomainCaFolder Load(string caDirectory)
    {
        var directory = Path.GetFullPath(caDirectory);
        var current = CertificateFiles.LoadAuthority(directory);
        var retired = new List<CertificateAuthority>();
        try
        {
            var folder = Path.Combine(directory, RetiredFolder);
            if (System.IO.Directory.Exists(folder))
            {
                foreach (var certificate in System.IO.Directory.EnumerateFiles(folder, "root-*.crt").Order(StringComparer.Ordinal))
                {
                    var key = Path.ChangeExtension(certificate, ".key");
                    if (!File.Exists(key))
                    {
                        continue; // the key was destroyed after the root was dropped: it can no longer sign
                    }

                    CertificateFiles.RefuseLooseKeyPermissions(key);
                    try
                    {
                        var authority = CertificateAuthority.Load(certificate, key);
                        if (authority.TrustDomain != current.TrustDomain)
                        {
                            authority.Dispose();
                            throw new CliException($"retired root '{certificate}' is of {authority.TrustDomain}, not {current.TrustDomain}");
                        }

                        retired.Add(authority);
                    }
                    catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException or InvalidDataException or CryptoFormatException)
                    {
                        throw new CliException($"cannot load the retired root '{certificate}': {ex.Message}");
                    }
                }
            }

            return new DomainCaFolder(directory, current, retired);
        }
        catch
        {
            current.Dispose();
            retired.ForEach(r => r.Dispose());
            throw;
        }
    }

    /// <summary>Every root of this folder (current first) whose pin is in <paramref name="pins"/>.</summary>
    public IReadOnlyList<CertificateAuthority> SignersFor(IEnumerable<string> pins)
    {
        var wanted = pins.ToHashSet(StringComparer.Ordinal);
        return new[] { Current }.Concat(Retired).Where(a => wanted.Contains(a.Pin)).ToList();
    }

    public void Dispose()
    {
        Current.Dispose();
        foreach (var authority in Retired)
        {
            authority.Dispose();
        }
    }
}
