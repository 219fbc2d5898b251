using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Org.BouncyCastle.Crypto.Parameters;

namespace CyberCoop.Crypto;

/// <summary>
/// A content signing key: Ed25519 for the classical suite, Ed25519 + ML-DSA-65 for the hybrid suite.
/// Stored as seeds (32 bytes each). Safe for concurrent signing from many threads. Dispose to clear the
/// seeds held by this object.
/// </summary>
public sealed class SigningKeyPair : IDisposable
{
    private readonly byte[] _secret;
    private readonly Ed25519PrivateKeyParameters _ed25519;
    private readonly MLDsaPrivateKeyParameters? _mlDsa;
    private bool _disposed;

    private SigningKeyPair(KeyAlgorithm algorithm, byte[] secret)
    {
        Algorithm = algorithm;
        var expected = SecretLength(algorithm);
        if (secret.Length != expected)
        {
            throw new KeyFormatException($"{ContentPublicKey.Name(algorithm)} signing key material must be {expected} bytes, got {secret.Length}");
        }

        _secret = secret;
        _ed25519 = new Ed25519PrivateKeyParameters(secret.AsSpan(0, Ed25519.SeedSize));
        var publicKey = _ed25519.GeneratePublicKey().GetEncoded();
        if (algorithm == KeyAlgorithm.Ed25519Mldsa65)
        {
            _mlDsa = MlDsa65.PrivateKeyFromSeed(secret.AsSpan(Ed25519.SeedSize, MlDsa65.SeedSize));
            publicKey = [.. publicKey, .. _mlDsa.GetPublicKeyEncoded()];
        }

        PublicKey = new ContentPublicKey(algorithm, publicKey);
    }

    /// <summary>The suite this key signs for.</summary>
    public Suite Suite => Suites.ForAlgorithm(Algorithm);

    /// <summary><see cref="KeyAlgorithm.Ed25519"/> or <see cref="KeyAlgorithm.Ed25519Mldsa65"/>.</summary>
    public KeyAlgorithm Algorithm { get; }

    /// <summary>The public half.</summary>
    public ContentPublicKey PublicKey { get; }

    /// <summary>Generates a fresh key for <paramref name="suite"/>.</summary>
    public static SigningKeyPair Generate(Suite suite)
    {
        var algorithm = Suites.SigningAlgorithm(suite);
        var secret = RandomNumberGenerator.GetBytes(SecretLength(algorithm));
        return new SigningKeyPair(algorithm, secret);
    }

    /// <summary>Builds a classical key from an RFC 8032 32-byte seed (test vectors, imports).</summary>
    public static SigningKeyPair FromEd25519Seed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != Ed25519.SeedSize)
        {
            throw new KeyFormatException($"Ed25519 seed must be {Ed25519.SeedSize} bytes, got {seed.Length}");
        }

        return new SigningKeyPair(KeyAlgorithm.Ed25519, seed.ToArray());
    }

    /// <summary>
    /// Builds a key from its secret as stored in a key file (crypto.md §5: Ed25519 seed, then for the hybrid key the
    /// ML-DSA-65 seed); for the known-answer vectors.
    /// </summary>
    internal static SigningKeyPair FromSecret(KeyAlgorithm algorithm, ReadOnlySpan<byte> secret) =>
        algorithm is KeyAlgorithm.Ed25519 or KeyAlgorithm.Ed25519Mldsa65
            ? new SigningKeyPair(algorithm, secret.ToArray())
            : throw new KeyFormatException($"{ContentPublicKey.Name(algorithm)} is not a signing algorithm");

    /// <summary>Loads a key file written by <see cref="Save"/>; <see cref="CryptoFileException"/> naming the file on any problem.</summary>
    public static SigningKeyPair Load(string path) =>
        KeyFile.Load(path, KeyFile.SigningLabel, "signing", KeyAlgorithm.Ed25519, KeyAlgorithm.Ed25519Mldsa65, static (algorithm, secret) => new SigningKeyPair(algorithm, secret));

    /// <summary>Writes the key file (mode 0600, atomic).</summary>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        KeyFile.Write(path, KeyFile.SigningLabel, Algorithm, _secret);
    }

    /// <summary>
    /// Signs the SHA-512 <paramref name="digest"/> of a message under <paramref name="context"/>: Ed25519ph, then for
    /// the hybrid suite ML-DSA-65 with that context (<see cref="ContentSignatures"/>).
    /// </summary>
    internal byte[] SignDigest(byte[] context, ReadOnlySpan<byte> digest, bool deterministic = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var signature = new byte[ContentSignatures.SignatureLength(Algorithm)];
        Ed25519.SignPrehash(_ed25519, context, digest, signature.AsSpan(0, Ed25519.SignatureSize));
        if (_mlDsa is not null)
        {
            MlDsa65.Sign(_mlDsa, context, digest, deterministic).CopyTo(signature.AsSpan(Ed25519.SignatureSize));
        }

        return signature;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CryptographicOperations.ZeroMemory(_secret);
    }

    private static int SecretLength(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.Ed25519 => Ed25519.SeedSize,
        KeyAlgorithm.Ed25519Mldsa65 => Ed25519.SeedSize + MlDsa65.SeedSize,
        _ => throw new KeyFormatException($"{ContentPublicKey.Name(algorithm)} is not a signing algorithm"),
    };
}
