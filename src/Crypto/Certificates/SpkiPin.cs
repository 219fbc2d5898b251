using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto;

/// <summary>
/// SHA-256 pins of a certificate's SubjectPublicKeyInfo, written <c>sha256:</c> + 64 lower-case hex digits
/// (the form operators compare, like an SSH host key fingerprint).
/// </summary>
public static class SpkiPin
{
    /// <summary>The prefix of the canonical form.</summary>
    public const string Prefix = "sha256:";

    /// <summary>Computes the canonical pin of <paramref name="cert"/>.</summary>
    public static string Compute(X509Certificate2 cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return Prefix + Convert.ToHexStringLower(Hash(cert));
    }

    /// <summary>The raw 32-byte SHA-256 of <paramref name="cert"/>'s SubjectPublicKeyInfo (the pin without its text form).</summary>
    public static byte[] ComputeBytes(X509Certificate2 cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return Hash(cert);
    }

    /// <summary>
    /// Normalizes a pin typed by a human: upper or lower case, with or without the <c>sha256:</c> prefix,
    /// with or without ':' separators between bytes.
    /// </summary>
    public static bool TryNormalize(string? pin, out string normalized, out string? error)
    {
        normalized = string.Empty;
        if (string.IsNullOrWhiteSpace(pin))
        {
            error = "pin is empty";
            return false;
        }

        var text = pin.Trim();
        if (text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            text = text[Prefix.Length..];
        }

        text = text.Replace(":", string.Empty, StringComparison.Ordinal);
        if (text.Length != 64)
        {
            error = $"pin must be 32 bytes (64 hex digits) of SHA-256; found {text.Length} digits";
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                error = $"pin contains non-hex character '{c}'";
                return false;
            }
        }

        normalized = Prefix + text.ToLowerInvariant();
        error = null;
        return true;
    }

    /// <summary>Whether <paramref name="cert"/>'s SPKI hashes to <paramref name="pin"/> (any accepted form); constant time.</summary>
    public static bool Matches(X509Certificate2 cert, string pin)
    {
        ArgumentNullException.ThrowIfNull(cert);
        if (!TryNormalize(pin, out var normalized, out _))
        {
            return false;
        }

        var expected = Convert.FromHexString(normalized.AsSpan(Prefix.Length));
        return CryptographicOperations.FixedTimeEquals(Hash(cert), expected);
    }

    private static byte[] Hash(X509Certificate2 cert) => SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo());
}
