using System.Security.Cryptography;

namespace CyberCoop.Crypto.Tests;

/// <summary>AES-256-GCM vectors for the platform AEAD the HPKE contexts use.</summary>
public sealed class AesGcmTests
{
    [Fact]
    public void Ring_aes_256_gcm_vectors_encrypt_and_decrypt()
    {
        var path = Vectors.Require("aead_aes_256_gcm_tests_ring.txt");
        var records = Vectors.ReadRecords(path).Where(r => r.ContainsKey("KEY")).ToList();
        Assert.True(records.Count > 50, $"expected the full vector set, found {records.Count}");
        var checkedCount = 0;
        foreach (var r in records)
        {
            var key = Vectors.Hex(r["KEY"]);
            var nonce = Vectors.Hex(r["NONCE"]);
            var pt = Vectors.Hex(r["IN"]);
            var ad = Vectors.Hex(r["AD"]);
            var ct = Vectors.Hex(r["CT"]);
            var tag = Vectors.Hex(r["TAG"]);
            using var aes = new AesGcm(key, tag.Length);
            if (r.ContainsKey("FAILS"))
            {
                // Non-96-bit nonces are refused as a matter of policy, like in ring.
                Assert.NotEqual(12, nonce.Length);
                Assert.ThrowsAny<ArgumentException>(() => aes.Encrypt(nonce, pt, new byte[pt.Length], new byte[tag.Length], ad));
                continue;
            }

            var outCt = new byte[pt.Length];
            var outTag = new byte[tag.Length];
            aes.Encrypt(nonce, pt, outCt, outTag, ad);
            Assert.Equal(ct, outCt);
            Assert.Equal(tag, outTag);

            var outPt = new byte[ct.Length];
            aes.Decrypt(nonce, ct, tag, outPt, ad);
            Assert.Equal(pt, outPt);

            var badTag = (byte[])tag.Clone();
            badTag[0] ^= 1;
            Assert.ThrowsAny<CryptographicException>(() => aes.Decrypt(nonce, ct, badTag, new byte[ct.Length], ad));
            checkedCount++;
        }

        Assert.True(checkedCount > 50);
    }
}
