using System.Security.Cryptography;
using System.Text.Json;

namespace CyberCoop.Crypto.Tests;

public sealed class X25519Tests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    [Theory]
    [InlineData("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void Rfc7748_section_5_2_scalar_multiplication(string scalar, string u, string output)
    {
        Assert.Equal(H(output), X25519.ScalarMult(H(scalar), H(u)));
        var shared = new byte[32];
        X25519.Agree(H(scalar), H(u), shared);
        Assert.Equal(H(output), shared);
    }

    [Fact]
    public void Rfc7748_section_5_2_iterated_once_and_1000_times()
    {
        var k = H("0900000000000000000000000000000000000000000000000000000000000000");
        var u = (byte[])k.Clone();
        for (var i = 1; i <= 1000; i++)
        {
            var next = X25519.ScalarMult(k, u);
            u = k;
            k = next;
            if (i == 1)
            {
                Assert.Equal(H("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"), k);
            }
        }

        Assert.Equal(H("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"), k);
    }

    [Fact]
    public void Rfc7748_section_6_1_diffie_hellman()
    {
        var alice = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        var bob = H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        var expected = H("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

        Assert.Equal(H("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), X25519.PublicKey(alice));
        Assert.Equal(H("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"), X25519.PublicKey(bob));
        var ab = new byte[32];
        var ba = new byte[32];
        X25519.Agree(alice, X25519.PublicKey(bob), ab);
        X25519.Agree(bob, X25519.PublicKey(alice), ba);
        Assert.Equal(expected, ab);
        Assert.Equal(expected, ba);
    }

    [Fact]
    public void Rfc7748_json_file_vectors_including_1000_iterations()
    {
        var path = Vectors.Require("rfc7748_x25519.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        foreach (var v in root.GetProperty("scalar_mult").EnumerateArray())
        {
            Assert.Equal(H(v.GetProperty("output").GetString()!), X25519.ScalarMult(H(v.GetProperty("scalar").GetString()!), H(v.GetProperty("u").GetString()!)));
        }

        var iterated = root.GetProperty("iterated");
        var k = H(iterated.GetProperty("start").GetString()!);
        var u = (byte[])k.Clone();
        for (var i = 1; i <= 1000; i++)
        {
            var next = X25519.ScalarMult(k, u);
            u = k;
            k = next;
            if (i == 1)
            {
                Assert.Equal(H(iterated.GetProperty("after_1").GetString()!), k);
            }
        }

        Assert.Equal(H(iterated.GetProperty("after_1000").GetString()!), k);

        var dh = root.GetProperty("diffie_hellman");
        var shared = new byte[32];
        X25519.Agree(H(dh.GetProperty("alice_private").GetString()!), H(dh.GetProperty("bob_public").GetString()!), shared);
        Assert.Equal(H(dh.GetProperty("shared_secret").GetString()!), shared);
        Assert.Equal(H(dh.GetProperty("alice_public").GetString()!), X25519.PublicKey(H(dh.GetProperty("alice_private").GetString()!)));
    }

    [Fact]
    public void Ring_agreement_vectors_match_and_malformed_peers_are_rejected()
    {
        var path = Vectors.Require("x25519_rfc7748_ring_agreement_tests_excerpt.txt");
        var records = Vectors.ReadRecords(path);
        Assert.NotEmpty(records);
        foreach (var r in records)
        {
            var peer = Vectors.Hex(r["PeerQ"]);
            if (r.TryGetValue("Error", out var error))
            {
                Assert.Throws<KeyFormatException>(() => X25519.Agree(new byte[32], peer, new byte[32]));
                continue;
            }

            var d = Vectors.Hex(r["D"]);
            var shared = new byte[32];
            X25519.Agree(d, peer, shared);
            Assert.Equal(Vectors.Hex(r["Output"]), shared);
            if (r.TryGetValue("MyQ", out var myQ))
            {
                Assert.Equal(Vectors.Hex(myQ), X25519.PublicKey(d));
            }
        }
    }

    [Fact]
    public void All_zero_shared_secret_from_small_order_point_is_refused()
    {
        var sk = X25519.GeneratePrivateKey();

        Assert.Throws<CryptographicException>(() => X25519.Agree(sk, new byte[32], new byte[32]));
    }
}
