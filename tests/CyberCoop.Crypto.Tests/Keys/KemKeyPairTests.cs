using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto.Tests;

public sealed class KemKeyPairTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519, KeyAlgorithm.X25519, 32)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, KeyAlgorithm.X25519Mlkem768, 32 + 1184)]
    public void Generated_key_has_the_suites_algorithm(Suite suite, KeyAlgorithm algorithm, int publicLength)
    {
        using var key = KemKeyPair.Generate(suite);

        Assert.Equal(suite, key.Suite);
        Assert.Equal(algorithm, key.Algorithm);
        Assert.Equal(publicLength, key.PublicKey.Key.Length);
    }

    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public void Key_file_round_trips_with_mode_0600_and_still_opens(Suite suite)
    {
        using var key = KemKeyPair.Generate(suite);
        var envelope = EnvelopeCrypto.Seal(EnvelopeCryptoTests.NewHeader(), "p"u8, key.PublicKey);
        key.Save(_dir.File("kem.key"));

        using var loaded = KemKeyPair.Load(_dir.File("kem.key"));

        Assert.Equal(key.PublicKey, loaded.PublicKey);
        Assert.Equal("p"u8.ToArray(), EnvelopeCrypto.Open(envelope, loaded).Plaintext);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.Mode(_dir.File("kem.key")));
    }

    [Fact]
    public void Rfc7748_private_key_gives_the_rfc_public_key()
    {
        using var key = KemKeyPair.FromX25519PrivateKey(Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));

        Assert.Equal(Convert.FromHexString("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), key.PublicKey.Key.ToArray());
        Assert.Equal(KeyAlgorithm.X25519, key.Algorithm);
    }

    [Fact]
    public void Hybrid_key_from_parts_is_deterministic()
    {
        var x = new byte[32];
        x[0] = 1;
        var seed = new byte[64];
        seed[1] = 2;

        using var a = KemKeyPair.FromHybridPrivateKey(x, seed);
        using var b = KemKeyPair.FromHybridPrivateKey(x, seed);

        Assert.Equal(a.PublicKey, b.PublicKey);
        Assert.Equal(KeyAlgorithm.X25519Mlkem768, a.Algorithm);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Private_key_of_wrong_length_is_rejected(int length)
    {
        Assert.Throws<KeyFormatException>(() => KemKeyPair.FromX25519PrivateKey(new byte[length]));
        Assert.Throws<KeyFormatException>(() => KemKeyPair.FromHybridPrivateKey(new byte[length], new byte[64]));
        Assert.Throws<KeyFormatException>(() => KemKeyPair.FromHybridPrivateKey(new byte[32], new byte[length]));
    }

    [Fact]
    public void Signing_key_file_is_refused_as_kem_key()
    {
        using var signing = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        signing.Save(_dir.File("sign.key"));

        var ex = Assert.Throws<CryptoFileException>(() => KemKeyPair.Load(_dir.File("sign.key")));
        Assert.Contains("CYBERCOOP KEM KEY", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_file_with_signing_algorithm_inside_kem_label_is_refused()
    {
        File.WriteAllText(_dir.File("odd.key"), "-----BEGIN CYBERCOOP KEM KEY-----\nAQEAAA==\n-----END CYBERCOOP KEM KEY-----\n");

        var ex = Assert.Throws<CryptoFileException>(() => KemKeyPair.Load(_dir.File("odd.key")));
        Assert.Contains("not a KEM algorithm", ex.Message, StringComparison.Ordinal);
    }
}
