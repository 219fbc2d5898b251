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
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(_dir.File("kem.key")));
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

    // Key files as written since the first release (version 0x01 || algorithm || secret, PEM armour, LF).
    // Literal text so a change to the writer or reader cannot silently change the on-disk format.
    private const string X25519KeyFileV1 =
        "-----BEGIN CYBERCOOP KEM KEY-----\nAQJ3B20KcxilfTwWwXJRsmZF30wvh+vAmSqxd/ulHbksKg==\n-----END CYBERCOOP KEM KEY-----\n";

    private const string HybridKeyFileV1 =
        "-----BEGIN CYBERCOOP KEM KEY-----\nAQQAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywt\nLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xd\nXl8=\n-----END CYBERCOOP KEM KEY-----\n";

    [Fact]
    public void Existing_version_1_x25519_key_file_loads_and_saves_back_byte_for_byte()
    {
        File.WriteAllText(_dir.File("old.key"), X25519KeyFileV1);

        using var loaded = KemKeyPair.Load(_dir.File("old.key"));
        loaded.Save(_dir.File("new.key"));

        Assert.Equal(KeyAlgorithm.X25519, loaded.Algorithm);
        Assert.Equal(Convert.FromHexString("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), loaded.PublicKey.Key.ToArray());
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(X25519KeyFileV1), File.ReadAllBytes(_dir.File("new.key")));
    }

    [Fact]
    public void Existing_version_1_hybrid_key_file_loads_as_the_same_key_and_saves_back_byte_for_byte()
    {
        var secret = Enumerable.Range(0, 96).Select(i => (byte)i).ToArray();
        using var expected = KemKeyPair.FromHybridPrivateKey(secret.AsSpan(0, 32), secret.AsSpan(32));
        File.WriteAllText(_dir.File("old.key"), HybridKeyFileV1);

        using var loaded = KemKeyPair.Load(_dir.File("old.key"));
        loaded.Save(_dir.File("new.key"));

        Assert.Equal(KeyAlgorithm.X25519Mlkem768, loaded.Algorithm);
        Assert.Equal(expected.PublicKey, loaded.PublicKey);
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(HybridKeyFileV1), File.ReadAllBytes(_dir.File("new.key")));
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
