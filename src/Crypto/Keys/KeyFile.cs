using System.Security.Cryptography;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto;

/// <summary>
/// Armored content private key files:
/// <c>-----BEGIN CYBERCOOP &lt;SIGNING|KEM&gt; KEY-----</c> / base64(version 0x01 || algorithm byte || secret) / END line.
/// Written 0600 and atomically.
/// </summary>
internal static class KeyFile
{
    public const string SigningLabel = "CYBERCOOP SIGNING KEY";
    public const string KemLabel = "CYBERCOOP KEM KEY";
    private const byte Version = 1;

    public static void Write(string path, string label, KeyAlgorithm algorithm, ReadOnlySpan<byte> secret)
    {
        var body = new byte[2 + secret.Length];
        char[]? armored = null;
        try
        {
            body[0] = Version;
            body[1] = (byte)algorithm;
            secret.CopyTo(body.AsSpan(2));
            armored = PemEncoding.Write(label, body);
            var bytes = new byte[armored.Length + 1];
            try
            {
                for (var i = 0; i < armored.Length; i++)
                {
                    bytes[i] = (byte)armored[i];
                }

                bytes[^1] = (byte)'\n';
                SecureFile.WriteAllBytes(path, bytes, secret: true);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(bytes);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
            if (armored is not null)
            {
                Array.Clear(armored);
            }
        }
    }

    /// <summary>
    /// Reads a key file and builds the key from it. <paramref name="create"/> owns the secret once it returns;
    /// on any problem the secret is zeroed and a <see cref="CryptoFileException"/> naming the file is thrown.
    /// </summary>
    /// <param name="path">The key file.</param>
    /// <param name="label">The PEM label the file must carry.</param>
    /// <param name="kind">The word naming the key kind in the error ("signing", "KEM").</param>
    /// <param name="classical">The classical algorithm of this key kind.</param>
    /// <param name="hybrid">The hybrid algorithm of this key kind.</param>
    /// <param name="create">Builds the key; throws <see cref="KeyFormatException"/> for bad key material.</param>
    public static T Load<T>(string path, string label, string kind, KeyAlgorithm classical, KeyAlgorithm hybrid, Func<KeyAlgorithm, byte[], T> create)
    {
        var (algorithm, secret) = Read(path, label);
        if (algorithm != classical && algorithm != hybrid)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new CryptoFileException(path, $"holds key algorithm {(int)algorithm}, which is not a {kind} algorithm");
        }

        try
        {
            return create(algorithm, secret);
        }
        catch (KeyFormatException ex)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new CryptoFileException(path, ex.Message, ex);
        }
    }

    /// <summary>Reads a key file; returns the algorithm and the secret (caller zeroes it).</summary>
    private static (KeyAlgorithm Algorithm, byte[] Secret) Read(string path, string label)
    {
        var text = SecureFile.ReadAllText(path, "key");
        if (!PemEncoding.TryFind(text, out var fields))
        {
            throw new CryptoFileException(path, $"no '-----BEGIN {label}-----' block found");
        }

        var foundLabel = text.AsSpan()[fields.Label].ToString();
        if (!string.Equals(foundLabel, label, StringComparison.Ordinal))
        {
            throw new CryptoFileException(path, $"holds a '{foundLabel}' block; expected '{label}'");
        }

        var body = new byte[fields.DecodedDataLength];
        try
        {
            if (!Convert.TryFromBase64Chars(text.AsSpan()[fields.Base64Data], body, out var written) || written != body.Length)
            {
                throw new CryptoFileException(path, "key block has invalid base64");
            }

            if (body.Length < 2)
            {
                throw new CryptoFileException(path, "key block is truncated");
            }

            if (body[0] != Version)
            {
                throw new CryptoFileException(path, $"unknown key file version {body[0]} (this build reads version {Version})");
            }

            var algorithm = (KeyAlgorithm)body[1];
            return (algorithm, body[2..]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }
}
