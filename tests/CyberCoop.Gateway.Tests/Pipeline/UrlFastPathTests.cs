using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Tests.Pipeline;

/// <summary>
/// The scan that keeps already-canonical URLs as they are (without System.Uri) must never change a result: every URL it
/// accepts is one the full normalization returns unchanged, over hand-picked traps and 200,000 generated URLs built from
/// the characters and shapes where Uri rewrites (dot segments, empty segments, escapes, ports, numeric hosts, fragments).
/// </summary>
public sealed class UrlFastPathTests
{
    [Theory]
    [InlineData("http://evil.example/gate.php?id=1")]
    [InlineData("https://a-b.example/x/y/")]
    [InlineData("https://c2_node.evil.example/")]
    [InlineData("ftp://files.example/pub/it's(1).bin")]
    [InlineData("http://intranet/login")]
    [InlineData("https://evil.example/a/?q=../x")]
    [InlineData("https://evil.example/p;v=1/q:@!$&*+,=~")]
    public void Canonical_urls_are_recognised_and_kept_as_they_are(string url)
    {
        Assert.True(IndicatorNormalizer.IsPlainCanonicalUrl(url));
        Assert.Equal(url, IndicatorNormalizer.NormalizeUrlWithUri(url).Value);
        Assert.Equal(url, IndicatorNormalizer.Normalize(IndicatorType.Url, url).Value);
    }

    [Theory]
    [InlineData("http://evil.example")]                 // Uri adds the root path
    [InlineData("http://evil.example/a/../b")]          // dot segment
    [InlineData("http://evil.example/a/./b")]
    [InlineData("http://evil.example/a/.")]
    [InlineData("http://evil.example//a")]              // empty segment
    [InlineData("http://evil.example/a#frag")]          // fragment is dropped
    [InlineData("http://evil.example/%7Euser")]         // escapes are Uri's to decide
    [InlineData("http://evil.example:80/a")]            // default port is dropped
    [InlineData("http://Evil.example/a")]               // host case
    [InlineData("HTTP://evil.example/a")]               // scheme case
    [InlineData("http://evil.example./a")]              // trailing dot
    [InlineData("http://127.1/a")]                      // numeric host: Uri reads it as IPv4
    [InlineData("http://0x7f000001/a")]
    [InlineData("http://xn--bcher-kva.example/a")]      // punycode goes through IDNA
    [InlineData("http://user@evil.example/a")]
    [InlineData("http://evil.example/a\\b")]
    [InlineData("http://evil.example/a b")]
    [InlineData("http://evil.example/a\"b")]
    [InlineData("http://-bad-.example/a")]
    [InlineData("ftp://files.example/a?b")]            // ftp has no query: Uri escapes the ?
    public void Urls_uri_would_rewrite_or_refuse_take_the_full_path(string url)
    {
        Assert.False(IndicatorNormalizer.IsPlainCanonicalUrl(url));
    }

    [Fact]
    public void A_url_whose_host_idna_refuses_is_rejected_with_a_reason_not_thrown()
    {
        // Found by the normalize fuzz target: Uri accepts the URL, then throws when asked for the host's IDNA form.
        // The crashing input as the target decoded it (UTF-8 with replacement characters in a 60-character host).
        var value = System.Text.Encoding.UTF8.GetString(Convert.FromHexString(
            "485454503a2f2f4578615f87ff78615f706c6c6c6c6c6c6c6c6c746c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c746c6c6c6c6c6c6c6c6c6c6c6c6c6c6c693f714f6c6c6c6c623f714f4d3a38303f613d433dfd2366"));
        var result = IndicatorNormalizer.Normalize(IndicatorType.Url, value);

        Assert.False(result.Ok);
        Assert.Contains("is not a valid host name (", result.Error, StringComparison.Ordinal);
        Assert.Contains("IDNA conversion failed)", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    // Found by the normalize fuzz target (session 8): with a '%' that starts no escape in the path, Uri escapes it as
    // "%25" and keeps the valid escape "%42" as it is; reading that result again, it decodes "%42" to 'B'. A canonical
    // value must normalize to itself, or two nodes that normalized the same sighting once and twice disagree on its id.
    [InlineData("HTTP://a/../323%%%%%%%%42fU19", "http://a/323%25%25%25%25%25%25%25BfU19")] // the crashing input
    [InlineData("http://evil.example/%%41", "http://evil.example/%25A")]
    [InlineData("http://evil.example/%41", "http://evil.example/A")] // the example of docs/protocol.md (canonical values)
    public void A_url_normalizes_to_a_value_that_normalizes_to_itself(string value, string canonical)
    {
        var once = IndicatorNormalizer.Normalize(IndicatorType.Url, value);
        Assert.True(once.Ok, once.Error);
        Assert.Equal(canonical, once.Value);

        var twice = IndicatorNormalizer.Normalize(IndicatorType.Url, once.Value);
        Assert.True(twice.Ok, twice.Error);
        Assert.Equal(once.Value, twice.Value);
    }

    [Fact]
    public void Every_generated_url_the_scan_accepts_is_returned_unchanged_by_the_full_normalization()
    {
        var random = new Random(20261206);
        string[] schemes = ["http://", "https://", "ftp://", "HTTP://", "gopher://", "http:/"];
        string[] hosts = ["evil.example", "a.b-c.example", "c2_node.example", "intranet", "127.0.0.1", "1.2.3", "0x7f.1", "Evil.example",
            "evil.example.", "xn--bcher-kva.example", "a..example", "-a.example", "a.example:80", "a.example:8080", "u@a.example", "[::1]", "a.1example"];
        const string pieces = "abcXYZ019-._~!$&'()*+,;=:@/?#%\\\"<>[]{}|^` ";
        var accepted = 0;
        for (var n = 0; n < 200_000; n++)
        {
            var url = schemes[random.Next(schemes.Length)] + hosts[random.Next(hosts.Length)] + Tail(random, pieces);
            if (!IndicatorNormalizer.IsPlainCanonicalUrl(url))
            {
                continue;
            }

            accepted++;
            var full = IndicatorNormalizer.NormalizeUrlWithUri(url);
            Assert.True(full.Ok && full.Value == url, $"'{url}' was taken as canonical, but the full normalization gives {(full.Ok ? "'" + full.Value + "'" : full.Error)}");
        }

        // The generator must reach the fast path often enough for this to be a test of it.
        Assert.True(accepted > 5_000, $"only {accepted} generated URLs took the fast path");
    }

    private static string Tail(Random random, string pieces)
    {
        var chars = new char[random.Next(0, 14)];
        for (var i = 0; i < chars.Length; i++)
        {
            // Mostly plain characters and separators, so that both paths are exercised.
            chars[i] = random.Next(4) switch
            {
                0 => '/',
                1 => (char)('a' + random.Next(26)),
                2 => random.Next(3) == 0 ? '.' : '?',
                _ => pieces[random.Next(pieces.Length)],
            };
        }

        return chars.Length > 0 && chars[0] != '/' && random.Next(4) != 0 ? "/" + new string(chars) : new string(chars);
    }
}
