using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CyberCoop.Crypto;

/// <summary>
/// Password/secret hashing for HTTP basic authentication (TAXII analysts): PBKDF2-HMAC-SHA256 (RFC 8018) with a
/// 16-byte random salt, encoded as <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;salt base64&gt;$&lt;hash base64&gt;</c>.
/// Verification is constant-time in the hash comparison; the derived bytes are zeroed after use.
/// </summary>
public static class SecretHash
{
    /// <summary>Scheme prefix of an encoded hash.</summary>
    public const string Scheme = "pbkdf2-sha256";

    /// <summary>Iterations for new hashes (OWASP 2023 recommendation for PBKDF2-HMAC-SHA256).</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Fewest iterations a stored hash may use; weaker ones are refused, not verified.</summary>
    public const int MinimumIterations = 100_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>Hashes <paramref name="secret"/> with a fresh random salt.</summary>
    public static string Hash(string secret, int iterations = DefaultIterations)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Derive(secret, salt, iterations);
        try
        {
            return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(hash);
        }
    }

    /// <summary>Checks that <paramref name="encoded"/> is a well-formed hash; the problem otherwise.</summary>
    public static bool IsWellFormed(string? encoded, out string? error)
    {
        error = Parse(encoded, out _, out _, out _);
        return error is null;
    }

    /// <summary>True when <paramref name="secret"/> matches <paramref name="encoded"/>; false for a malformed hash.</summary>
    public static bool Verify(string secret, string encoded)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (Parse(encoded, out var iterations, out var salt, out var expected) is not null)
        {
            return false;
        }

        var actual = Derive(secret, salt!, iterations);
        try
        {
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(actual);
        }
    }

    /// <summary>
    /// A key for remembering a successful verification for a short while (so a polling client does not cost a full
    /// PBKDF2 per request): SHA-256 over the user, the secret and the stored hash, length-prefixed. Never stored.
    /// </summary>
    public static string VerificationKey(string user, string secret, string encoded)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(encoded);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        foreach (var part in new[] { user, secret, encoded })
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
            CryptographicOperations.ZeroMemory(bytes);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static byte[] Derive(string secret, byte[] salt, int iterations)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        try
        {
            return Rfc2898DeriveBytes.Pbkdf2(bytes, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static string? Parse(string? encoded, out int iterations, out byte[]? salt, out byte[] hash)
    {
        iterations = 0;
        salt = null;
        hash = [];
        if (string.IsNullOrEmpty(encoded))
        {
            return "is empty";
        }

        var parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme)
        {
            return $"must be '{Scheme}$<iterations>$<salt base64>$<hash base64>' (make one with 'taxii hash-secret')";
        }

        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < MinimumIterations || iterations > 10_000_000)
        {
            return $"iterations must be {MinimumIterations:N0} to 10,000,000";
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return "salt and hash must be base64";
        }

        return salt.Length < 16 ? "salt must be at least 16 bytes" : hash.Length != HashBytes ? $"hash must be {HashBytes} bytes" : null;
    }
}
