using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Org.BouncyCastle.Crypto.Parameters;

namespace CyberCoop.Crypto;

/// <summary>
/// A content public key (signature or KEM) with its algorithm. The constructor validates the length for the
/// algorithm. <see cref="KeyId"/> = first 16 bytes of SHA-256(algorithm as one byte || key).
/// </summary>
public sealed record ContentPublicKey
{
    /// <summary>Length of a key id in bytes.</summary>
    public const int KeyIdSize = 16;

    private readonly byte[] _key;
    private readonly byte[] _keyId;
    private readonly Ed25519PublicKeyParameters? _ed25519;
    private readonly MLDsaPublicKeyParameters? _mlDsa;
    private readonly MLKemPublicKeyParameters? _mlKem;

    /// <summary>Creates and validates a key; <see cref="KeyFormatException"/> naming the problem.</summary>
    public ContentPublicKey(KeyAlgorithm Algorithm, ReadOnlyMemory<byte> Key)
    {
        var expected = ExpectedLength(Algorithm);
        if (Key.Length != expected)
        {
            throw new KeyFormatException($"{Name(Algorithm)} public key must be {expected} bytes, got {Key.Length}");
        }

        this.Algorithm = Algorithm;
        _key = Key.ToArray();
        _keyId = ComputeKeyId(Algorithm, _key);

        // Decode once: validates the encodings and keeps verification/encapsulation from re-parsing.
        switch (Algorithm)
        {
            case KeyAlgorithm.Ed25519:
                _ed25519 = Ed25519.ParsePublicKey(_key);
                break;
            case KeyAlgorithm.Ed25519Mldsa65:
                _ed25519 = Ed25519.ParsePublicKey(_key.AsSpan(0, Ed25519.PublicKeySize));
                _mlDsa = MlDsa65.PublicKey(_key.AsSpan(Ed25519.PublicKeySize));
                break;
            case KeyAlgorithm.X25519Mlkem768:
                _mlKem = MlKem768.PublicKey(_key.AsSpan(X25519.KeySize));
                break;
        }
    }

    /// <summary>The key algorithm.</summary>
    public KeyAlgorithm Algorithm { get; }

    /// <summary>Raw public key bytes in the algorithm's encoding (hybrids: classical part first).</summary>
    public ReadOnlyMemory<byte> Key => _key;

    /// <summary>16-byte key id (a copy).</summary>
    public byte[] KeyId => (byte[])_keyId.Clone();

    /// <summary>The suite this key belongs to.</summary>
    public Suite Suite => Suites.ForAlgorithm(Algorithm);

    /// <summary>Key id as lower-case hex (for logs and audit).</summary>
    public string KeyIdHex => Convert.ToHexStringLower(_keyId);

    internal ReadOnlySpan<byte> KeySpan => _key;

    internal ReadOnlySpan<byte> KeyIdSpan => _keyId;

    /// <summary>The X25519 part (whole key for X25519, first 32 bytes for the hybrid).</summary>
    internal ReadOnlySpan<byte> X25519Part => _key.AsSpan(0, X25519.KeySize);

    internal Ed25519PublicKeyParameters Ed25519Parameters =>
        _ed25519 ?? throw new KeyFormatException($"{Name(Algorithm)} key cannot verify signatures");

    internal MLDsaPublicKeyParameters? MlDsaParameters => _mlDsa;

    internal MLKemPublicKeyParameters? MlKemParameters => _mlKem;

    /// <summary>Computes the key id of raw key bytes.</summary>
    public static byte[] ComputeKeyId(KeyAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        var buffer = new byte[1 + key.Length];
        buffer[0] = checked((byte)algorithm);
        key.CopyTo(buffer.AsSpan(1));
        return SHA256.HashData(buffer)[..KeyIdSize];
    }

    /// <summary>Whether <paramref name="keyId"/> equals this key's id (constant time).</summary>
    public bool HasKeyId(ReadOnlySpan<byte> keyId) => CryptographicOperations.FixedTimeEquals(_keyId, keyId);

    /// <summary>The wire form (key id, algorithm, key; validity times left unset for the caller).</summary>
    public ContentKey ToProto() => new()
    {
        KeyId = ByteString.CopyFrom(_keyId),
        Algorithm = Algorithm,
        PublicKey = ByteString.CopyFrom(_key),
    };

    /// <summary>Reads the wire form; checks the algorithm, length and (when present) that key_id matches.</summary>
    public static ContentPublicKey FromProto(ContentKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var result = new ContentPublicKey(key.Algorithm, key.PublicKey.Memory);
        if (!key.KeyId.IsEmpty && !result.HasKeyId(key.KeyId.Span))
        {
            throw new KeyFormatException($"ContentKey.key_id {Convert.ToHexStringLower(key.KeyId.Span)} does not match its public key (expected {result.KeyIdHex})");
        }

        return result;
    }

    /// <inheritdoc />
    public bool Equals(ContentPublicKey? other) =>
        other is not null && other.Algorithm == Algorithm && _key.AsSpan().SequenceEqual(other._key);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Algorithm, BitConverter.ToInt32(_keyId, 0));

    /// <inheritdoc />
    public override string ToString() => $"{Name(Algorithm)} key {KeyIdHex}";

    /// <summary>Deconstructs into algorithm and key.</summary>
    public void Deconstruct(out KeyAlgorithm algorithm, out ReadOnlyMemory<byte> key)
    {
        algorithm = Algorithm;
        key = Key;
    }

    internal static int ExpectedLength(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.Ed25519 => Ed25519.PublicKeySize,
        KeyAlgorithm.X25519 => X25519.KeySize,
        KeyAlgorithm.Ed25519Mldsa65 => Ed25519.PublicKeySize + MlDsa65.PublicKeySize,
        KeyAlgorithm.X25519Mlkem768 => X25519.KeySize + MlKem768.PublicKeySize,
        _ => throw new KeyFormatException($"unknown key algorithm {(int)algorithm}"),
    };

    internal static string Name(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.Ed25519 => "Ed25519",
        KeyAlgorithm.X25519 => "X25519",
        KeyAlgorithm.Ed25519Mldsa65 => "Ed25519+ML-DSA-65",
        KeyAlgorithm.X25519Mlkem768 => "X25519+ML-KEM-768",
        _ => $"algorithm {(int)algorithm}",
    };
}
