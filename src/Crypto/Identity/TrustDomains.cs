namespace CyberCoop.Crypto;

/// <summary>Validation of SPIFFE trust domain names (<c>ee.cybercoop</c>).</summary>
public static class TrustDomains
{
    /// <summary>Maximum length of a trust domain name (SPIFFE-ID §2.1 recommends DNS limits).</summary>
    public const int MaxLength = 255;

    /// <summary>
    /// Checks a trust domain per the SPIFFE standard: 1-255 characters of <c>[a-z0-9-._]</c>
    /// only (so no upper case, port, user info, path, query or fragment).
    /// </summary>
    /// <param name="domain">Candidate name.</param>
    /// <param name="error">Why it is invalid, or null.</param>
    public static bool IsValid(string? domain, out string? error)
    {
        if (string.IsNullOrEmpty(domain))
        {
            error = "trust domain is empty";
            return false;
        }

        if (domain.Length > MaxLength)
        {
            error = $"trust domain is {domain.Length} characters long; at most {MaxLength} are allowed";
            return false;
        }

        for (var i = 0; i < domain.Length; i++)
        {
            var c = domain[i];
            if (IsAllowed(c))
            {
                continue;
            }

            error = c switch
            {
                >= 'A' and <= 'Z' => $"trust domain '{domain}' contains upper-case letter '{c}' at position {i}; SPIFFE trust domains are lower case",
                ':' => $"trust domain '{domain}' contains ':' at position {i}; ports are not allowed",
                '@' => $"trust domain '{domain}' contains '@' at position {i}; user info is not allowed",
                '/' => $"trust domain '{domain}' contains '/' at position {i}",
                '?' => $"trust domain '{domain}' contains '?' at position {i}; queries are not allowed",
                '#' => $"trust domain '{domain}' contains '#' at position {i}; fragments are not allowed",
                '%' => $"trust domain '{domain}' contains '%' at position {i}; percent-encoding is not allowed",
                _ => $"trust domain '{domain}' contains character U+{(int)c:X4} at position {i}; only [a-z0-9-._] are allowed",
            };
            return false;
        }

        error = null;
        return true;
    }

    internal static void ThrowIfInvalid(string? domain, string paramName)
    {
        if (!IsValid(domain, out var error))
        {
            throw new ArgumentException(error, paramName);
        }
    }

    private static bool IsAllowed(char c) =>
        c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.' or '_';
}
