using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Tests.Pipeline;

public sealed class IndicatorNormalizerTests
{
    [Theory]
    [InlineData(IndicatorType.Ipv4, "192.0.2.1", "192.0.2.1")]
    [InlineData(IndicatorType.Ipv4, "  198.51.100.255\t", "198.51.100.255")]
    [InlineData(IndicatorType.Ipv4, "0.0.0.0", "0.0.0.0")]
    [InlineData(IndicatorType.Ipv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1")]
    [InlineData(IndicatorType.Ipv6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData(IndicatorType.Ipv6, "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    [InlineData(IndicatorType.Ipv6, "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")]
    [InlineData(IndicatorType.Ipv6, "2001:0:0:1:0:0:0:1", "2001:0:0:1::1")]
    [InlineData(IndicatorType.Ipv6, "::FFFF:192.0.2.1", "::ffff:192.0.2.1")]
    [InlineData(IndicatorType.Cidr, "198.51.100.0/24", "198.51.100.0/24")]
    [InlineData(IndicatorType.Cidr, "2001:DB8::/32", "2001:db8::/32")]
    [InlineData(IndicatorType.Cidr, "0.0.0.0/0", "0.0.0.0/0")]
    [InlineData(IndicatorType.Cidr, "192.0.2.1/32", "192.0.2.1/32")]
    [InlineData(IndicatorType.Domain, "Example.COM.", "example.com")]
    [InlineData(IndicatorType.Domain, "bücher.example", "xn--bcher-kva.example")]
    [InlineData(IndicatorType.Domain, "BÜCHER.Example", "xn--bcher-kva.example")] // lower-cased before Punycode (it gave xn--bcher-2pa)
    [InlineData(IndicatorType.Email, "Alice@BÜCHER.example", "Alice@xn--bcher-kva.example")]
    [InlineData(IndicatorType.Domain, "xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData(IndicatorType.Domain, "_dmarc.evil.example", "_dmarc.evil.example")]
    [InlineData(IndicatorType.Url, "HTTP://Example.COM:80/a/../b/%7Euser?q=1#frag", "http://example.com/b/~user?q=1")]
    [InlineData(IndicatorType.Url, "https://bücher.example:8443/Path", "https://xn--bcher-kva.example:8443/Path")]
    [InlineData(IndicatorType.Url, "https://example.com", "https://example.com/")]
    [InlineData(IndicatorType.Url, "http://[2001:DB8:0:0:0:0:0:1]:8080/x", "http://[2001:db8::1]:8080/x")]
    [InlineData(IndicatorType.Url, "ftp://192.0.2.1:21/file.bin", "ftp://192.0.2.1/file.bin")]
    [InlineData(IndicatorType.Url, "http://C2_Node.Evil.Example/x", "http://c2_node.evil.example/x")]
    [InlineData(IndicatorType.Email, "Alice.Smith@Bücher.Example", "Alice.Smith@xn--bcher-kva.example")]
    [InlineData(IndicatorType.Md5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData(IndicatorType.Sha1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData(IndicatorType.Sha256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData(IndicatorType.Ja3, "e7d705a3286e19ea42f587b344ee6865", "e7d705a3286e19ea42f587b344ee6865")]
    [InlineData(IndicatorType.Ja4, "T13D1516H2_8DAAF6152771_B186095E22B6", "t13d1516h2_8daaf6152771_b186095e22b6")]
    [InlineData(IndicatorType.Asn, "AS64496", "64496")]
    [InlineData(IndicatorType.Asn, "as64496", "64496")]
    [InlineData(IndicatorType.Asn, "64496", "64496")]
    [InlineData(IndicatorType.Asn, "1.10", "65546")]
    [InlineData(IndicatorType.Asn, "4294967295", "4294967295")]
    [InlineData(IndicatorType.Cve, "cve-2024-3400", "CVE-2024-3400")]
    [InlineData(IndicatorType.Cve, "CVE-2021-44228", "CVE-2021-44228")]
    public void Valid_values_normalize_to_their_canonical_form(IndicatorType type, string raw, string expected)
    {
        var result = IndicatorNormalizer.Normalize(type, raw);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(expected, result.Value);
        Assert.Null(result.Error);
    }

    [Fact]
    public void Sha512_of_128_hex_characters_is_lower_cased()
    {
        var raw = new string('A', 128);

        var result = IndicatorNormalizer.Normalize(IndicatorType.Sha512, raw);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(new string('a', 128), result.Value);
    }

    [Theory]
    [InlineData(IndicatorType.Ipv4, "999.1.1.1", "value: '999.1.1.1' is not a valid IPv4 address")]
    [InlineData(IndicatorType.Ipv4, "010.0.0.1", "not a valid IPv4 address")]
    [InlineData(IndicatorType.Ipv4, "1.2.3", "not a valid IPv4 address")]
    [InlineData(IndicatorType.Ipv4, "1.2.3.4.5", "not a valid IPv4 address")]
    [InlineData(IndicatorType.Ipv4, "1.2.3.4/24", "not a valid IPv4 address")]
    [InlineData(IndicatorType.Ipv4, "2001:db8::1", "not a valid IPv4 address")]
    [InlineData(IndicatorType.Ipv6, "fe80::1%eth0", "not a valid IPv6 address")]
    [InlineData(IndicatorType.Ipv6, "192.0.2.1", "not a valid IPv6 address")]
    [InlineData(IndicatorType.Ipv6, "2001:db8:::1", "not a valid IPv6 address")]
    [InlineData(IndicatorType.Ipv6, "[2001:db8::1]", "not a valid IPv6 address")]
    [InlineData(IndicatorType.Cidr, "192.0.2.5/24", "has host bits set (the network is 192.0.2.0/24)")]
    [InlineData(IndicatorType.Cidr, "192.0.2.0/33", "prefix length /33 is longer than 32")]
    [InlineData(IndicatorType.Cidr, "192.0.2.0", "missing '/prefix'")]
    [InlineData(IndicatorType.Cidr, "192.0.2.0/024", "invalid prefix length")]
    [InlineData(IndicatorType.Cidr, "2001:db8::1/32", "has host bits set (the network is 2001:db8::/32)")]
    [InlineData(IndicatorType.Domain, "localhost", "needs at least two labels")]
    [InlineData(IndicatorType.Domain, "-bad.example", "starts or ends with '-'")]
    [InlineData(IndicatorType.Domain, "a..example", "not a valid domain name")]
    [InlineData(IndicatorType.Domain, "1.2.3.4", "the last label is numeric")]
    [InlineData(IndicatorType.Domain, "exa mple.com", "not a valid domain name")]
    [InlineData(IndicatorType.Url, "javascript:alert(1)", "not a valid absolute URL")]
    [InlineData(IndicatorType.Url, "gopher://example.com/", "scheme 'gopher' is not allowed")]
    [InlineData(IndicatorType.Url, "file:///etc/passwd", "scheme 'file' is not allowed")]
    [InlineData(IndicatorType.Url, "/relative/path", "not a valid absolute URL")]
    [InlineData(IndicatorType.Url, "http://exa mple.com/", "white space or control characters")]
    [InlineData(IndicatorType.Url, "http://[fe80::1%25eth0]/", "zone ids are not allowed")]
    [InlineData(IndicatorType.Url, "http://-bad-.example/", "is not a valid host name")]
    [InlineData(IndicatorType.Email, "no-at-sign.example", "expected local@domain")]
    [InlineData(IndicatorType.Email, "a@localhost", "needs at least two labels")]
    [InlineData(IndicatorType.Email, "a..b@example.com", "misplaced '.'")]
    [InlineData(IndicatorType.Md5, "d41d8cd98f00b204e9800998ecf8427", "md5 must be 32 hex characters, got 31")]
    [InlineData(IndicatorType.Sha256, "z3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "non-hex character 'z' at position 0")]
    [InlineData(IndicatorType.Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd8070", "sha1 must be 40 hex characters, got 39")]
    [InlineData(IndicatorType.Ja3, "xyz", "ja3 must be 32 hex characters, got 3")]
    [InlineData(IndicatorType.Ja4, "t13d1516h2-8daaf6152771-b186095e22b6", "not a JA4 fingerprint")]
    [InlineData(IndicatorType.Ja4, "x13d1516h2_8daaf6152771_b186095e22b6", "not a JA4 fingerprint")]
    [InlineData(IndicatorType.Ja4, "t13d1516h2_8daaf615277z_b186095e22b6", "not a JA4 fingerprint")]
    [InlineData(IndicatorType.Asn, "AS0", "AS 0 is reserved")]
    [InlineData(IndicatorType.Asn, "4294967296", "not a valid AS number")]
    [InlineData(IndicatorType.Asn, "AS-1", "not a valid AS number")]
    [InlineData(IndicatorType.Asn, "1.65536", "not a valid AS number")]
    [InlineData(IndicatorType.Cve, "CVE-24-3400", "not a CVE identifier")]
    [InlineData(IndicatorType.Cve, "CVE-2024-340", "not a CVE identifier")]
    [InlineData(IndicatorType.Cve, "CVE-1998-0001", "before 1999")]
    [InlineData(IndicatorType.Unspecified, "192.0.2.1", "type: is unspecified")]
    [InlineData((IndicatorType)99, "192.0.2.1", "type: unknown indicator type 99")]
    public void Invalid_values_are_rejected_with_an_error_naming_the_problem(IndicatorType type, string raw, string fragment)
    {
        var result = IndicatorNormalizer.Normalize(type, raw);

        Assert.False(result.Ok);
        Assert.Equal(string.Empty, result.Value);
        Assert.NotNull(result.Error);
        Assert.Contains(fragment, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "value: is missing")]
    [InlineData("", "value: is empty")]
    [InlineData("   ", "value: is empty")]
    public void Null_and_empty_values_are_rejected(string? raw, string expected)
    {
        var result = IndicatorNormalizer.Normalize(IndicatorType.Domain, raw);

        Assert.False(result.Ok);
        Assert.Equal(expected, result.Error);
    }

    [Fact]
    public void Values_over_2048_bytes_are_rejected_before_parsing()
    {
        var raw = "http://example.com/" + new string('a', 2040);

        var result = IndicatorNormalizer.Normalize(IndicatorType.Url, raw);

        Assert.False(result.Ok);
        Assert.Equal("value: is longer than 2048 bytes", result.Error);
    }

    [Fact]
    public void Multibyte_values_are_measured_in_utf8_bytes()
    {
        var raw = new string('ü', 1100) + ".example"; // 2208 UTF-8 bytes, 1108 chars

        var result = IndicatorNormalizer.Normalize(IndicatorType.Domain, raw);

        Assert.False(result.Ok);
        Assert.Contains("longer than 2048 bytes", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Domain_longer_than_253_characters_is_rejected()
    {
        var label = new string('a', 63);
        var raw = string.Join('.', label, label, label, label) + ".example";

        var result = IndicatorNormalizer.Normalize(IndicatorType.Domain, raw);

        Assert.False(result.Ok);
        Assert.Contains("longer than 253", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_messages_escape_control_characters_and_truncate_long_input()
    {
        var raw = "1.2.3.\u0007" + new string('9', 200);

        var result = IndicatorNormalizer.Normalize(IndicatorType.Ipv4, raw);

        Assert.False(result.Ok);
        Assert.DoesNotContain('\u0007', result.Error!);
        Assert.Contains("\\u0007", result.Error, StringComparison.Ordinal);
        Assert.True(result.Error!.Length < 160, result.Error);
    }

    [Theory]
    [InlineData(IndicatorType.Domain, "EXAMPLE.com", "example.COM.")]
    [InlineData(IndicatorType.Ipv6, "2001:db8::1", "2001:0DB8:0:0:0:0:0:1")]
    [InlineData(IndicatorType.Url, "http://example.com/a", "HTTP://EXAMPLE.COM:80/a#x")]
    [InlineData(IndicatorType.Domain, "bücher.example", "XN--BCHER-KVA.EXAMPLE")]
    public void Two_spellings_of_one_observable_normalize_identically(IndicatorType type, string a, string b)
    {
        Assert.Equal(IndicatorNormalizer.Normalize(type, a).Value, IndicatorNormalizer.Normalize(type, b).Value);
    }

    [Theory]
    [InlineData("c2-1.bench.example", true)]
    [InlineData("_dmarc.example.com", true)]
    [InlineData("ab--cd.example", true)]
    [InlineData("xn--bcher-kva.example", false)]
    [InlineData("xn--abc.example", false)]
    [InlineData("-abc.example", false)]
    [InlineData("abc-.example", false)]
    [InlineData("a..example", false)]
    [InlineData("Upper.example", false)]
    [InlineData("bücher.example", false)]
    public void Plain_ascii_names_skip_idna_only_when_idna_returns_them_unchanged(string name, bool plain)
    {
        var idna = new System.Globalization.IdnMapping { AllowUnassigned = false, UseStd3AsciiRules = false };

        Assert.Equal(plain, IndicatorNormalizer.IsPlainAsciiName(name));
        if (plain)
        {
            Assert.Equal(name, idna.GetAscii(name));
        }
    }

    [Fact]
    public void Every_name_taken_as_plain_ascii_is_one_idna_maps_to_itself()
    {
        // Random names over the characters that matter at label edges (seeded: the same names every run).
        var idna = new System.Globalization.IdnMapping { AllowUnassigned = false, UseStd3AsciiRules = false };
        var random = new Random(20261123);
        const string Alphabet = "ax0-_.nX";
        var plain = 0;
        for (var n = 0; n < 20_000; n++)
        {
            var chars = new char[random.Next(1, 14)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = Alphabet[random.Next(Alphabet.Length)];
            }

            var name = new string(chars);
            if (IndicatorNormalizer.IsPlainAsciiName(name))
            {
                plain++;
                Assert.Equal(name, idna.GetAscii(name));
            }
        }

        Assert.True(plain > 1_000, $"only {plain} plain names generated");
    }

    [Theory]
    [InlineData(IndicatorType.Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData(IndicatorType.Md5, "d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData(IndicatorType.Ipv4, "192.0.2.1")]
    public void Canonical_hashes_and_addresses_are_returned_as_given(IndicatorType type, string value)
    {
        Assert.Same(value, IndicatorNormalizer.Normalize(type, value).Value);
    }

    [Theory]
    [InlineData(IndicatorType.Sha256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData(IndicatorType.Sha256, " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData(IndicatorType.Ipv4, " 192.0.2.1", "192.0.2.1")]
    [InlineData(IndicatorType.Domain, "c2-1.bench.example", "c2-1.bench.example")]
    [InlineData(IndicatorType.Domain, "C2-1.Bench.Example.", "c2-1.bench.example")]
    [InlineData(IndicatorType.Domain, "_dmarc.example.com", "_dmarc.example.com")]
    public void Values_needing_normalization_still_normalize(IndicatorType type, string value, string expected)
    {
        Assert.Equal(expected, IndicatorNormalizer.Normalize(type, value).Value);
    }

    [Theory]
    [InlineData("-bad.example")]
    [InlineData("bad-.example")]
    [InlineData("a..example")]
    [InlineData("x.123")]
    public void Names_outside_the_plain_path_are_still_rejected(string value)
    {
        Assert.False(IndicatorNormalizer.Normalize(IndicatorType.Domain, value).Ok);
    }
}
