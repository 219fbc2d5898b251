using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto.Tests;

public sealed class SigningKeyPairTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519, KeyAlgorithm.Ed25519, 32)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, KeyAlgorithm.Ed25519Mldsa65, 32 + 1952)]
    public void Generated_key_has_the_suites_algorithm(Suite suite, KeyAlgorithm algorithm, int publicLength)
    {
        using var key = SigningKeyPair.Generate(suite);

        Assert.Equal(suite, key.Suite);
        Assert.Equal(algorithm, key.Algorithm);
        Assert.Equal(publicLength, key.PublicKey.Key.Length);
    }

    [Theory]
    [InlineData(Suite.X25519Aes256GcmEd25519)]
    [InlineData(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public void Key_file_round_trips_with_mode_0600_and_still_signs(Suite suite)
    {
        using var key = SigningKeyPair.Generate(suite);
        key.Save(_dir.File("sign.key"));

        using var loaded = SigningKeyPair.Load(_dir.File("sign.key"));
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, loaded);

        Assert.Equal(key.PublicKey, loaded.PublicKey);
        Assert.True(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, signature, key.PublicKey));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(_dir.File("sign.key")));
        Assert.StartsWith("-----BEGIN CYBERCOOP SIGNING KEY-----", File.ReadAllText(_dir.File("sign.key")), StringComparison.Ordinal);
    }

    [Fact]
    public void Rfc8032_seed_gives_the_rfc_public_key()
    {
        using var key = SigningKeyPair.FromEd25519Seed(Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));

        Assert.Equal(Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"), key.PublicKey.Key.ToArray());
    }

    // Key files as written since the first release (version 0x01 || algorithm || seeds, PEM armour, LF).
    // Literal text so a change to the writer or reader cannot silently change the on-disk format.
    private const string Ed25519KeyFileV1 =
        "-----BEGIN CYBERCOOP SIGNING KEY-----\nAQGdYbGd7/1aYLqESvSS7CzEREnFaXsyaRlwO6wDHK5/YA==\n-----END CYBERCOOP SIGNING KEY-----\n";

    private const string HybridKeyFileV1 =
        "-----BEGIN CYBERCOOP SIGNING KEY-----\nAQMAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywt\nLi8wMTIzNDU2Nzg5Ojs8PT4/\n-----END CYBERCOOP SIGNING KEY-----\n";

    [Fact]
    public void Existing_version_1_ed25519_key_file_loads_and_saves_back_byte_for_byte()
    {
        File.WriteAllText(_dir.File("old.key"), Ed25519KeyFileV1);

        using var loaded = SigningKeyPair.Load(_dir.File("old.key"));
        loaded.Save(_dir.File("new.key"));

        Assert.Equal(KeyAlgorithm.Ed25519, loaded.Algorithm);
        Assert.Equal(Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"), loaded.PublicKey.Key.ToArray());
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(Ed25519KeyFileV1), File.ReadAllBytes(_dir.File("new.key")));
    }

    [Fact]
    public void Existing_version_1_hybrid_key_file_loads_signs_and_saves_back_byte_for_byte()
    {
        File.WriteAllText(_dir.File("old.key"), HybridKeyFileV1);

        using var loaded = SigningKeyPair.Load(_dir.File("old.key"));
        var signature = ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, loaded);
        loaded.Save(_dir.File("new.key"));

        Assert.Equal(KeyAlgorithm.Ed25519Mldsa65, loaded.Algorithm);
        Assert.True(ContentSignatures.Verify(SignaturePurpose.Bundle, "m"u8, signature, loaded.PublicKey));
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(HybridKeyFileV1), File.ReadAllBytes(_dir.File("new.key")));
    }

    [Fact]
    public void Kem_key_file_is_refused_as_signing_key()
    {
        using var kem = KemKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        kem.Save(_dir.File("kem.key"));

        var ex = Assert.Throws<CryptoFileException>(() => SigningKeyPair.Load(_dir.File("kem.key")));
        Assert.Contains("CYBERCOOP SIGNING KEY", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "no '-----BEGIN CYBERCOOP SIGNING KEY-----' block")]
    [InlineData("-----BEGIN CYBERCOOP SIGNING KEY-----\nAQ==\n-----END CYBERCOOP SIGNING KEY-----\n", "truncated")]
    [InlineData("-----BEGIN CYBERCOOP SIGNING KEY-----\nAgEAAA==\n-----END CYBERCOOP SIGNING KEY-----\n", "unknown key file version 2")]
    [InlineData("-----BEGIN CYBERCOOP SIGNING KEY-----\nAQEAAA==\n-----END CYBERCOOP SIGNING KEY-----\n", "must be 32 bytes, got 2")]
    [InlineData("-----BEGIN CYBERCOOP SIGNING KEY-----\nAQIAAA==\n-----END CYBERCOOP SIGNING KEY-----\n", "not a signing algorithm")]
    public void Malformed_key_files_are_rejected_naming_file_and_problem(string content, string problem)
    {
        File.WriteAllText(_dir.File("bad.key"), content);

        var ex = Assert.Throws<CryptoFileException>(() => SigningKeyPair.Load(_dir.File("bad.key")));

        Assert.Equal(_dir.File("bad.key"), ex.Path);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_key_file_is_named()
    {
        var ex = Assert.Throws<CryptoFileException>(() => SigningKeyPair.Load(_dir.File("none.key")));

        Assert.Contains("not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_suite_is_rejected()
    {
        Assert.Throws<KeyFormatException>(() => SigningKeyPair.Generate(Suite.Unspecified));
        Assert.Throws<KeyFormatException>(() => SigningKeyPair.Generate((Suite)7));
    }

    [Fact]
    public void Disposed_key_refuses_to_sign()
    {
        var key = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        key.Dispose();

        Assert.Throws<ObjectDisposedException>(() => ContentSignatures.Sign(SignaturePurpose.Bundle, "m"u8, key));
    }
}
