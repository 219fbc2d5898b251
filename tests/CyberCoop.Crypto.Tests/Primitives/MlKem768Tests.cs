using System.Security.Cryptography;

namespace CyberCoop.Crypto.Tests;

public sealed class MlKem768Tests
{
    // NIST ML-KEM (FIPS 203) KAT vector no. 1: seeds d, z, encapsulation randomness m, ML-KEM-768 shared secret.
    private const string D = "7c9935a0b07694aa0c6d10e4db6b1add2fd81a25ccb148032dcd739936737f2d";
    private const string Z = "b505d7cfad1b497499323c8686325e4792f267aafa3f87ca60d01cb54f29202a";
    private const string M = "eb4a7c66ef4eba2ddb38c88d8bc706b1d639002198172a7b1942eca8f6c001ba";
    private const string SharedSecret = "ac865f839fef1bf3d528dd7504bed2f64b5502b0fa81d1c32763658e4aac5037";

    [Fact]
    public void Nist_kat_1_keygen_from_seed_and_encaps_give_the_listed_shared_secret()
    {
        var dk = MlKem768.PrivateKeyFromSeed(Convert.FromHexString(D + Z));
        var ek = MlKem768.PublicKey(dk.GetPublicKeyEncoded());
        var ct = new byte[MlKem768.CiphertextSize];
        var ss = new byte[32];

        MlKem768.Encapsulate(ek, ct, ss, new FixedRandom(Convert.FromHexString(M)));
        var decapsulated = new byte[32];
        MlKem768.Decapsulate(dk, ct, decapsulated);

        Assert.Equal(SharedSecret, Convert.ToHexStringLower(ss));
        Assert.Equal(ss, decapsulated);
    }

    [Fact]
    public void Tampered_ciphertext_decapsulates_to_an_unrelated_secret()
    {
        var dk = MlKem768.PrivateKeyFromSeed(RandomNumberGenerator.GetBytes(64));
        var ek = MlKem768.PublicKey(dk.GetPublicKeyEncoded());
        var ct = new byte[MlKem768.CiphertextSize];
        var ss = new byte[32];
        MlKem768.Encapsulate(ek, ct, ss);
        ct[100] ^= 1;

        var other = new byte[32];
        MlKem768.Decapsulate(dk, ct, other);

        Assert.NotEqual(ss, other);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(600)]
    [InlineData(1149)]
    public void Encapsulation_key_with_an_unreduced_coefficient_is_rejected(int offset)
    {
        var dk = MlKem768.PrivateKeyFromSeed(RandomNumberGenerator.GetBytes(64));
        var ek = dk.GetPublicKeyEncoded();
        ek[offset] = 0xFF;
        ek[offset + 1] |= 0x0F; // first 12-bit coefficient of this triple = 0xFFF >= q

        var ex = Assert.Throws<KeyFormatException>(() => MlKem768.PublicKey(ek));
        Assert.Contains("not reduced", ex.Message, StringComparison.Ordinal);
        Assert.Throws<KeyFormatException>(() => new ContentPublicKey(Contracts.V1.KeyAlgorithm.X25519Mlkem768, (byte[])[.. new byte[32], .. ek]));
    }

    [Fact]
    public void Valid_encapsulation_keys_pass_the_modulus_check()
    {
        for (var i = 0; i < 20; i++)
        {
            var dk = MlKem768.PrivateKeyFromSeed(RandomNumberGenerator.GetBytes(64));
            var encoded = dk.GetPublicKeyEncoded();
            Assert.Equal(encoded, MlKem768.PublicKey(encoded).GetEncoded());
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1087)]
    [InlineData(1089)]
    public void Ciphertext_of_wrong_length_is_rejected(int length)
    {
        var dk = MlKem768.PrivateKeyFromSeed(RandomNumberGenerator.GetBytes(64));

        Assert.Throws<KeyFormatException>(() => MlKem768.Decapsulate(dk, new byte[length], new byte[32]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    public void Seed_and_key_of_wrong_length_are_rejected(int length)
    {
        Assert.Throws<KeyFormatException>(() => MlKem768.PrivateKeyFromSeed(new byte[length]));
        Assert.Throws<KeyFormatException>(() => MlKem768.PublicKey(new byte[length]));
    }
}
