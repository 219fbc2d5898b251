using System.Security.Cryptography;

namespace CyberCoop.Crypto.Tests;

/// <summary>RFC 5869 for the platform HKDF that the HPKE key schedule is built on.</summary>
public sealed class HkdfTests
{
    [Fact]
    public void Rfc5869_test_case_1_extract_and_expand()
    {
        var ikm = Convert.FromHexString("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        var salt = Convert.FromHexString("000102030405060708090a0b0c");
        var info = Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9");
        var prk = new byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt, prk);
        var okm = new byte[42];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, okm, info);

        Assert.Equal(Convert.FromHexString("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"), prk);
        Assert.Equal(Convert.FromHexString("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"), okm);
    }

    [Fact]
    public void Rfc5869_file_vectors_for_sha256()
    {
        var path = Vectors.Require("hkdf_rfc5869_ring.txt");
        var records = Vectors.ReadRecords(path).Where(r => r.GetValueOrDefault("Hash") == "SHA256").ToList();
        Assert.True(records.Count >= 3, $"expected at least the three RFC 5869 SHA-256 cases, found {records.Count}");
        foreach (var r in records)
        {
            var ikm = Vectors.Hex(r["IKM"]);
            var salt = Vectors.Hex(r["salt"]);
            var info = Vectors.Hex(r["info"]);
            var expectedOkm = Vectors.Hex(r["OKM"]);
            var prk = new byte[32];
            HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt, prk);
            if (r.TryGetValue("PRK", out var expectedPrk))
            {
                Assert.Equal(Vectors.Hex(expectedPrk), prk);
            }

            if (expectedOkm.Length == 0)
            {
                // Zero-length output: the platform refuses it, and so does HpkeLabels (L must be >= 1).
                Assert.ThrowsAny<ArgumentException>(() => HKDF.Expand(HashAlgorithmName.SHA256, prk, Span<byte>.Empty, info));
                continue;
            }

            var okm = new byte[expectedOkm.Length];
            HKDF.Expand(HashAlgorithmName.SHA256, prk, okm, info);
            Assert.Equal(expectedOkm, okm);
        }
    }
}
