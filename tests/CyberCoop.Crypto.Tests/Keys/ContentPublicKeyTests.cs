using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Crypto.Tests;

public sealed class ContentPublicKeyTests
{
    [Theory]
    [InlineData(KeyAlgorithm.Ed25519, 32)]
    [InlineData(KeyAlgorithm.X25519, 32)]
    [InlineData(KeyAlgorithm.Ed25519Mldsa65, 32 + 1952)]
    [InlineData(KeyAlgorithm.X25519Mlkem768, 32 + 1184)]
    public void Key_id_is_first_16_bytes_of_sha256_over_algorithm_byte_and_key(KeyAlgorithm algorithm, int length)
    {
        var key = ValidKeyBytes(algorithm, length);
        var expected = SHA256.HashData([(byte)algorithm, .. key])[..16];

        var publicKey = new ContentPublicKey(algorithm, key);

        Assert.Equal(expected, publicKey.KeyId);
        Assert.Equal(Convert.ToHexStringLower(expected), publicKey.KeyIdHex);
    }

    private static byte[] ValidKeyBytes(KeyAlgorithm algorithm, int length)
    {
        // Random bytes are not valid Ed25519 points or ML-KEM/ML-DSA keys: take real keys.
        return algorithm switch
        {
            KeyAlgorithm.Ed25519 => SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519).PublicKey.Key.ToArray(),
            KeyAlgorithm.Ed25519Mldsa65 => SigningKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65).PublicKey.Key.ToArray(),
            KeyAlgorithm.X25519Mlkem768 => KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65).PublicKey.Key.ToArray(),
            _ => RandomNumberGenerator.GetBytes(length),
        };
    }

    [Fact]
    public void Same_bytes_under_different_algorithms_have_different_ids()
    {
        var key = ValidKeyBytes(KeyAlgorithm.Ed25519, 32);

        Assert.NotEqual(new ContentPublicKey(KeyAlgorithm.Ed25519, key).KeyId, new ContentPublicKey(KeyAlgorithm.X25519, key).KeyId);
    }

    [Theory]
    [InlineData(KeyAlgorithm.Ed25519, 31)]
    [InlineData(KeyAlgorithm.X25519, 33)]
    [InlineData(KeyAlgorithm.X25519, 0)]
    [InlineData(KeyAlgorithm.Ed25519Mldsa65, 32)]
    [InlineData(KeyAlgorithm.X25519Mlkem768, 1215)]
    public void Wrong_length_is_rejected_naming_algorithm_and_lengths(KeyAlgorithm algorithm, int length)
    {
        var ex = Assert.Throws<KeyFormatException>(() => new ContentPublicKey(algorithm, new byte[length]));

        Assert.Contains($"got {length}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(KeyAlgorithm.Unspecified)]
    [InlineData((KeyAlgorithm)99)]
    public void Unknown_algorithm_is_rejected(KeyAlgorithm algorithm)
    {
        var ex = Assert.Throws<KeyFormatException>(() => new ContentPublicKey(algorithm, new byte[32]));

        Assert.Contains("unknown key algorithm", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ed25519_key_that_is_not_a_curve_point_is_rejected()
    {
        var notAPoint = Enumerable.Repeat((byte)0xFF, 32).ToArray(); // y >= p: non-canonical

        var ex = Assert.Throws<KeyFormatException>(() => new ContentPublicKey(KeyAlgorithm.Ed25519, notAPoint));
        Assert.Contains("not a valid point", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Proto_round_trip_preserves_key_and_id()
    {
        using var kem = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);

        var proto = kem.PublicKey.ToProto();
        var back = ContentPublicKey.FromProto(ContentKey.Parser.ParseFrom(proto.ToByteArray()));

        Assert.Equal(kem.PublicKey, back);
        Assert.Equal(kem.PublicKey.KeyId, proto.KeyId.ToByteArray());
        Assert.Equal(KeyAlgorithm.X25519Mlkem768, proto.Algorithm);
    }

    [Fact]
    public void Proto_with_a_key_id_that_does_not_match_is_rejected()
    {
        using var kem = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var proto = kem.PublicKey.ToProto();
        proto.KeyId = ByteString.CopyFrom(new byte[16]);

        var ex = Assert.Throws<KeyFormatException>(() => ContentPublicKey.FromProto(proto));
        Assert.Contains("does not match", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Equality_is_by_algorithm_and_bytes()
    {
        var bytes = ValidKeyBytes(KeyAlgorithm.Ed25519, 32);

        Assert.Equal(new ContentPublicKey(KeyAlgorithm.Ed25519, bytes), new ContentPublicKey(KeyAlgorithm.Ed25519, (byte[])bytes.Clone()));
        Assert.NotEqual(new ContentPublicKey(KeyAlgorithm.Ed25519, bytes), new ContentPublicKey(KeyAlgorithm.X25519, bytes));
    }
}
