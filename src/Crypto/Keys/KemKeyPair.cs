using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Org.BouncyCastle.Crypto.Parameters;

namespace CyberCoop.Crypto;

/// <summary>
/// A content KEM (decryption) key: X25519 for the classical suite, X25519 + ML-KEM-768 for the hybrid suite.
/// Stored as the X25519 scalar (32 bytes) and the ML-KEM seed d||z (64 bytes). Safe for concurrent
/// opening from many threads. Dispose to clear them.
/// </summary>
public sealed class KemKeyPair : IDisposable
{
    private readonly byte[] _secret;
    private readonly MLKemPrivateKeyParameters? _mlKem;
    private bool _disposed;

    private KemKeyPair(KeyAlgorithm algorithm, byte[] secret)
    {
        Algorithm = algorithm;
        var expected = SecretLength(algorithm);
        if (secret.Length != expected)
        {
            throw new KeyFormatException($"{ContentPublicKey.Name(algorithm)} KEM key material must be {expected} bytes, got {secret.Length}");
        }

        _secret = secret;
        var publicKey = X25519.PublicKey(secret.AsSpan(0, X25519.KeySize));
        if (algorithm == KeyAlgorithm.X25519Mlkem768)
        {
            _mlKem = MlKem768.PrivateKeyFromSeed(secret.AsSpan(X25519.KeySize, MlKem768.SeedSize));
            publicKey = [.. publicKey, .. _mlKem.GetPublicKeyEncoded()];
        }

        PublicKey = new ContentPublicKey(algorithm, publicKey);
    }

    /// <summary>The suite this key opens envelopes for.</summary>
    public Suite Suite => Suites.ForAlgorithm(Algorithm);

    /// <summary><see cref="KeyAlgorithm.X25519"/> or <see cref="KeyAlgorithm.X25519Mlkem768"/>.</summary>
    public KeyAlgorithm Algorithm { get; }

    /// <summary>The public half.</summary>
    public ContentPublicKey PublicKey { get; }

    internal ReadOnlySpan<byte> X25519PrivateKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _secret.AsSpan(0, X25519.KeySize);
        }
    }

    internal MLKemPrivateKeyParameters? MlKemPrivateKey => _mlKem;

    /// <summary>Generates a fresh key for <paramref name="suite"/>.</summary>
    public static KemKeyPair Generate(Suite suite)
    {
        var algorithm = Suites.KemAlgorithm(suite);
        var secret = RandomNumberGenerator.GetBytes(SecretLength(algorithm));
        return new KemKeyPair(algorithm, secret);
    }

    /// <summary>A classical key from a raw X25519 private key (RFC test vectors, imports).</summary>
    public static KemKeyPair FromX25519PrivateKey(ReadOnlySpan<byte> sk)
    {
        if (sk.Length != X25519.KeySize)
        {
            throw new KeyFormatException($"X25519 private key must be {X25519.KeySize} bytes, got {sk.Length}");
        }

        return new KemKeyPair(KeyAlgorithm.X25519, sk.ToArray());
    }

    /// <summary>A hybrid key from its parts: X25519 private key (32 bytes) and ML-KEM-768 seed d||z (64 bytes).</summary>
    public static KemKeyPair FromHybridPrivateKey(ReadOnlySpan<byte> x25519PrivateKey, ReadOnlySpan<byte> mlKemSeed)
    {
        if (x25519PrivateKey.Length != X25519.KeySize)
        {
            throw new KeyFormatException($"X25519 private key must be {X25519.KeySize} bytes, got {x25519PrivateKey.Length}");
        }

        if (mlKemSeed.Length != MlKem768.SeedSize)
        {
            throw new KeyFormatException($"ML-KEM-768 seed must be {MlKem768.SeedSize} bytes, got {mlKemSeed.Length}");
        }

        return new KemKeyPair(KeyAlgorithm.X25519Mlkem768, [.. x25519PrivateKey, .. mlKemSeed]);
    }

    /// <summary>Loads a key file written by <see cref="Save"/>; <see cref="CryptoFileException"/> naming the file on any problem.</summary>
    public static KemKeyPair Load(string path) =>
        KeyFile.Load(path, KeyFile.KemLabel, "KEM", KeyAlgorithm.X25519, KeyAlgorithm.X25519Mlkem768, static (algorithm, secret) => new KemKeyPair(algorithm, secret));

    /// <summary>Writes the key file (mode 0600, atomic).</summary>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        KeyFile.Write(path, KeyFile.KemLabel, Algorithm, _secret);
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
        KeyAlgorithm.X25519 => X25519.KeySize,
        KeyAlgorithm.X25519Mlkem768 => X25519.KeySize + MlKem768.SeedSize,
        _ => throw new KeyFormatException($"{ContentPublicKey.Name(algorithm)} is not a KEM algorithm"),
    };
}
