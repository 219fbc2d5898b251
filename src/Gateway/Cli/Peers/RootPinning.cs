using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;

namespace CyberCoop.Gateway.Cli.Peers;

/// <summary>
/// The one way a foreign root becomes trusted: it must be a CA root of the named trust domain and
/// match the pin the operator was given, or be confirmed by the operator at a terminal (like an SSH
/// host key). Used by <c>peers add</c> and <c>origins add</c>.
/// </summary>
internal static class RootPinning
{
    /// <summary>Fails unless <paramref name="root"/> may be pinned for <paramref name="trustDomain"/>.</summary>
    public static void Confirm(CliIo io, string trustDomain, string heading, X509Certificate2 root, string actualPin, string? expectedPin)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(root);
        if (!root.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority))
        {
            throw new CliException($"the certificate given as root ({root.Subject}) is not a CA certificate; pass the domain's root.crt");
        }

        _ = Anchor(trustDomain, root);

        if (expectedPin is not null)
        {
            if (!SpkiPin.Matches(root, expectedPin))
            {
                throw new CliException($"pin mismatch: the root's pin is {actualPin} but --pin is {expectedPin}; nothing was changed. " +
                    "Check the pin with the other domain's operator over a channel you trust.");
            }

            return;
        }

        if (!io.Prompt.IsInteractive)
        {
            throw new CliException($"no --pin given and no terminal to confirm it; pass --pin (the root's pin is {actualPin}, compare it with the other domain's operator first)");
        }

        io.Output.WriteLine(heading);
        io.Output.WriteLine($"root      {root.Subject}");
        io.Output.WriteLine($"valid     {CertificateFiles.Format(root.NotBefore)} .. {CertificateFiles.Format(root.NotAfter)}");
        io.Output.WriteLine($"root pin  {actualPin}");
        if (!io.Prompt.Confirm(io.Output, "Does this pin match what the other domain's operator told you over a trusted channel?"))
        {
            throw new CliException("not confirmed; nothing was changed");
        }
    }

    /// <summary>The root as a trust anchor of <paramref name="trustDomain"/>, or a failure saying why it cannot be one.</summary>
    public static TrustAnchor Anchor(string trustDomain, X509Certificate2 root)
    {
        try
        {
            return new TrustAnchor(trustDomain, root, SpkiPin.Compute(root));
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"that certificate cannot be the root of {trustDomain}: {ex.Message}");
        }
    }

    /// <summary>Copies a pinned root next to the config as <c>peers/&lt;domain&gt;-&lt;pin prefix&gt;.crt</c>; returns the relative path and whether it was created.</summary>
    public static (string Relative, string Full, bool Created) CopyRoot(Configuration.LoadedConfig config, string trustDomain, X509Certificate2 root, string pin)
    {
        ArgumentNullException.ThrowIfNull(config);
        var relative = Path.Combine("peers", $"{trustDomain}-{pin[SpkiPin.Prefix.Length..][..16]}.crt");
        var full = config.Resolve(relative);
        var created = !File.Exists(full);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        if (created)
        {
            PemFiles.WriteCertificate(full, root);
        }

        return (relative, full, created);
    }
}
