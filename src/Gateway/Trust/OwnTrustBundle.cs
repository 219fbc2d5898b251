using System.Security.Cryptography;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// This node's own domain bundle (<c>node.trustBundle</c>): signed offline by the domain's root, read from disk,
/// served to peers as is. It must describe the node's trust domain, be signed by the configured own root
/// (<c>node.tls.root</c>; any root it introduces must have signed it too) and not have expired.
/// </summary>
internal static class OwnTrustBundle
{
    /// <summary>Checks the file for the config validator; adds errors naming <c>node.trustBundle</c>.</summary>
    public static VerifiedTrustBundle? Check(NodeConfig node, string baseDirectory, DateTimeOffset now, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrWhiteSpace(node.TrustBundle))
        {
            errors.Add("node.trustBundle: required (the domain's root-signed trust bundle; 'certs init-domain' writes trust-bundle.pb)");
            return null;
        }

        var bundlePath = Path.GetFullPath(node.TrustBundle, baseDirectory);
        Contracts.V1.SignedTrustBundle signed;
        try
        {
            signed = TrustBundleFile.Read(bundlePath);
        }
        catch (FileNotFoundException)
        {
            errors.Add($"node.trustBundle: file '{bundlePath}' does not exist (copy the domain's trust-bundle.pb, written by 'certs init-domain', beside the config)");
            return null;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            errors.Add($"node.trustBundle: {ex.Message}");
            return null;
        }

        if (node.Tls is null || string.IsNullOrWhiteSpace(node.Tls.Root))
        {
            return null; // reported as node.tls.root
        }

        var rootPath = Path.GetFullPath(node.Tls.Root, baseDirectory);
        System.Security.Cryptography.X509Certificates.X509Certificate2 root;
        try
        {
            root = PemFiles.LoadCertificate(rootPath);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or FormatException or UnauthorizedAccessException or CryptoFormatException)
        {
            return null; // reported as node.tls.root
        }

        using (root)
        {
            var verified = TrustBundleVerifier.Verify(signed, node.TrustDomain, [root], now, out var error);
            if (verified is null)
            {
                var hint = error is not null && error.StartsWith("trust bundle is not signed", StringComparison.Ordinal)
                    ? $" — it must be signed by node.tls.root ({SpkiPin.Compute(root)}); after a root rotation that dropped that root, point node.tls.root at the new root"
                    : "";
                errors.Add($"node.trustBundle: '{bundlePath}': {error}{hint}");
            }

            return verified;
        }
    }

    /// <summary>Loads and verifies the own bundle of a validated config; <see cref="GatewayConfigException"/> when it no longer verifies.</summary>
    public static VerifiedTrustBundle Load(LoadedConfig loaded, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(time);
        var errors = new List<string>();
        var verified = Check(loaded.Config.Node, loaded.BaseDirectory, time.GetUtcNow(), errors);
        if (verified is null)
        {
            throw new GatewayConfigException(loaded.Path, errors.Count > 0 ? errors : ["node.trustBundle: cannot be verified against node.tls.root"]);
        }

        return verified;
    }
}
