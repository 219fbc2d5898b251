using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Testing;

/// <summary>
/// A client's check of a server certificate against one root it was given (the node's root, as an operator imports it
/// into a browser or a TAXII client): the chain must build to that root, and only to it.
/// </summary>
public static class RootChain
{
    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="root"/> (no revocation lookup: there is none offline).</summary>
    public static bool Validates(X509Certificate? certificate, X509Certificate2 root)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (certificate is X509Certificate2 leaf)
        {
            return chain.Build(leaf);
        }

        using var copy = new X509Certificate2(certificate);
        return chain.Build(copy);
    }
}
