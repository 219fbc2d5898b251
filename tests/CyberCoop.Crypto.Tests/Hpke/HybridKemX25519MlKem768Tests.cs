using System.Security.Cryptography;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Crypto.Tests;

public sealed class HybridKemX25519MlKem768Tests
{
    [Fact]
    public void Encap_and_decap_agree_and_sizes_are_as_documented()
    {
        using var key = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);

        var ss = HybridKemX25519MlKem768.Encap(key.PublicKey.Key.Span, out var enc);
        var ss2 = HybridKemX25519MlKem768.Decap(enc, key.X25519PrivateKey, key.MlKemPrivateKey!);

        Assert.Equal(32, ss.Length);
        Assert.Equal(32 + 1088, enc.Length);
        Assert.Equal(32 + 1184, key.PublicKey.Key.Length);
        Assert.Equal(ss, ss2);
    }

    [Fact]
    public void Each_encapsulation_is_fresh()
    {
        using var key = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);

        var a = HybridKemX25519MlKem768.Encap(key.PublicKey.Key.Span, out var encA);
        var b = HybridKemX25519MlKem768.Encap(key.PublicKey.Key.Span, out var encB);

        Assert.NotEqual(a, b);
        Assert.NotEqual(encA, encB);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(500)]
    [InlineData(1119)]
    public void Tampered_encapsulation_in_either_component_gives_a_different_secret(int index)
    {
        using var key = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);
        var ss = HybridKemX25519MlKem768.Encap(key.PublicKey.Key.Span, out var enc);
        enc[index] ^= 0x01;

        byte[]? other = null;
        try
        {
            other = HybridKemX25519MlKem768.Decap(enc, key.X25519PrivateKey, key.MlKemPrivateKey!);
        }
        catch (CryptographicException)
        {
            // a flipped X25519 share may land on a small-order point: refusing is also fine
        }

        if (other is not null)
        {
            Assert.NotEqual(ss, other);
        }
    }

    [Fact]
    public void Combiner_is_sha3_256_over_mlkem_secret_x25519_secret_ciphertext_public_key_and_label()
    {
        var ssM = Enumerable.Repeat((byte)0x11, 32).ToArray();
        var ssX = Enumerable.Repeat((byte)0x22, 32).ToArray();
        var ctX = Enumerable.Repeat((byte)0x33, 32).ToArray();
        var pkX = Enumerable.Repeat((byte)0x44, 32).ToArray();
        byte[] input = [.. ssM, .. ssX, .. ctX, .. pkX, .. "CyberCoop-v1 X25519MLKEM768"u8];

        var combined = HybridKemX25519MlKem768.Combine(ssM, ssX, ctX, pkX);

        // Independent reference: the platform SHA3-256 when available, otherwise the documented fixed value.
        var expected = SHA3_256.IsSupported ? SHA3_256.HashData(input) : Convert.FromHexString(CombinerKnownAnswer);
        Assert.Equal(expected, combined);
        Assert.Equal(CombinerKnownAnswer, Convert.ToHexStringLower(combined));
    }

    // SHA3-256(0x11*32 || 0x22*32 || 0x33*32 || 0x44*32 || "CyberCoop-v1 X25519MLKEM768"), also listed in docs/crypto.md.
    private const string CombinerKnownAnswer = "ae5e66a9615531061181170381a290a0358bdb3525dcc6ddcabb59a5d96848e7";

    private static byte[] Counting(int start, int count) => Enumerable.Range(start, count).Select(i => (byte)i).ToArray();

    // Known answer for reimplementers (docs/crypto.md §6): sk_X = 01..20, ML-KEM seed d||z = 40..7f,
    // ephemeral ek_X = a0..bf, ML-KEM.Encaps randomness m = c0..df.
    private const string KatPublicKeySha256 = "fbb0adf651af24e0331a190c7048175ee8ff8d0deab1440770cc02af14e41b74";
    private const string KatEncSha256 = "c019848a196cce6599ab351d120062c895f4063aef62e964e227b68d90327581";
    private const string KatSharedSecret = "c00a9ff387efc21750a8ab1d282b66cc05016e4c5518f723f15bd91718f9690d";

    [Fact]
    public void Known_answer_from_fixed_keys_and_randomness()
    {
        using var recipient = KemKeyPair.FromHybridPrivateKey(Counting(0x01, 32), Counting(0x40, 64));
        var pk = recipient.PublicKey;

        var ss = HybridKemX25519MlKem768.EncapDeterministic(pk.X25519Part, pk.MlKemParameters!, Counting(0xa0, 32), new FixedRandom(Counting(0xc0, 32)), out var enc);
        var decapsulated = HybridKemX25519MlKem768.Decap(enc, recipient.X25519PrivateKey, recipient.MlKemPrivateKey!);

        Assert.Equal(ss, decapsulated);
        // X25519 halves cross-checked with an independent implementation (pyca/cryptography).
        Assert.Equal("07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c", Convert.ToHexStringLower(pk.Key.Span[..32]));
        Assert.Equal("605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c", Convert.ToHexStringLower(enc.AsSpan(0, 32)));
        Assert.Equal(KatPublicKeySha256, Convert.ToHexStringLower(SHA256.HashData(pk.Key.Span)));
        Assert.Equal(KatEncSha256, Convert.ToHexStringLower(SHA256.HashData(enc)));
        Assert.Equal(KatSharedSecret, Convert.ToHexStringLower(ss));
    }

    [Fact]
    public void Wrong_lengths_are_rejected_as_malformed()
    {
        using var key = KemKeyPair.Generate(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65);

        Assert.Throws<KeyFormatException>(() => HybridKemX25519MlKem768.Encap(new byte[32], out _));
        Assert.Throws<KeyFormatException>(() => HybridKemX25519MlKem768.Decap(new byte[1119], key.X25519PrivateKey, key.MlKemPrivateKey!));
    }

    [Fact]
    public void Same_shared_secret_gives_unrelated_keys_under_the_classical_and_hybrid_kem_ids()
    {
        var secret = RandomNumberGenerator.GetBytes(32);

        var classical = Crypto.Hpke.ComputeKeySchedule(Crypto.Hpke.KemIdX25519, HpkeAead.Aes256Gcm, (byte[])secret.Clone(), "i"u8);
        var hybrid = Crypto.Hpke.ComputeKeySchedule(Crypto.Hpke.KemIdX25519MlKem768, HpkeAead.Aes256Gcm, (byte[])secret.Clone(), "i"u8);

        Assert.NotEqual(classical.Key, hybrid.Key);
        Assert.NotEqual(classical.BaseNonce, hybrid.BaseNonce);
        Assert.NotEqual(classical.ExporterSecret, hybrid.ExporterSecret);
    }
}
