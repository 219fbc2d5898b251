using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Tests.Pipeline;

/// <summary>
/// docs/protocol.md §7.1 must let another nation compute the same canonical URL, and so the same indicator id, without
/// System.Uri: the gateway's normalizer is held to <see cref="UrlCanonicalReference"/> (written from that text alone) on
/// the conformance vectors of tests/vectors/url-canonical.txt and on generated URLs built from every character class and
/// shape the text has a rule for.
/// </summary>
public sealed class UrlCanonicalFormTests
{
    public static TheoryData<int, string, string, string> Vectors()
    {
        var data = new TheoryData<int, string, string, string>();
        foreach (var (line, fields) in VectorFile.Read("url-canonical.txt", 3))
        {
            data.Add(line, VectorFile.Unescape(fields[0]), fields[1], fields[2]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Conformance_vector_holds_for_the_gateway_and_for_the_text(int line, string input, string canonical, string id)
    {
        var gateway = IndicatorNormalizer.Normalize(IndicatorType.Url, input);
        var reference = UrlCanonicalReference.Canonicalize(input);
        if (canonical == "refused")
        {
            Assert.False(gateway.Ok, $"line {line}: the gateway accepted it as '{gateway.Value}'");
            Assert.Null(reference);
            Assert.Equal("-", id);
            return;
        }

        Assert.True(gateway.Ok, $"line {line}: {gateway.Error}");
        Assert.Equal(canonical, gateway.Value);
        Assert.Equal(canonical, reference);
        Assert.Equal(id, IndicatorIds.Compute(IndicatorType.Url, canonical));

        var again = IndicatorNormalizer.Normalize(IndicatorType.Url, canonical);
        Assert.Equal(canonical, again.Value);
    }

    [Fact]
    public void The_gateway_and_the_text_agree_on_generated_urls()
    {
        var random = new Random(20261208);
        var mismatches = new List<string>();
        var accepted = 0;
        const int Count = 150_000;
        for (var n = 0; n < Count && mismatches.Count < 20; n++)
        {
            var url = GenerateUrl(random);
            var gateway = IndicatorNormalizer.Normalize(IndicatorType.Url, url);
            var reference = UrlCanonicalReference.Canonicalize(url);
            var gatewayText = gateway.Ok ? gateway.Value : "refused";
            if (gatewayText != (reference ?? "refused"))
            {
                mismatches.Add($"{Show(url)}: gateway {Show(gatewayText)}, text {Show(reference ?? "refused")}" + (gateway.Ok ? "" : $" ({gateway.Error})"));
            }

            accepted += gateway.Ok ? 1 : 0;
        }

        Assert.True(mismatches.Count == 0, "the normalizer and §7.1 disagree:\n" + string.Join('\n', mismatches));
        // Both outcomes must be common for this to test the rules and not only the refusals.
        Assert.InRange(accepted, Count / 5, Count * 9 / 10);
    }

    private static readonly string[] Schemes = ["http://", "https://", "ftp://", "HTTP://", "Https://", "fTp://", "gopher://", "http:/", "http:"];

    private static readonly string[] Hosts =
    [
        "evil.example", "EVIL.Example", "a-b.example", "c2_node.example", "intranet", "intranet.", "evil.example.", "a._b",
        "xn--bcher-kva.example", "bücher.example", "BÜCHER.example", "straße.de", "127.0.0.1", "[::1]", "2130706433", "_a.b.example",
        "a..example", "-a.example", "a-.example", "xn--zz.example", "evil.example._c", "a.b._", "127.1", "1.2.3", "0x7f.1", "0x7F000001", "2130706433", "0177.0.0.1", "08.1.1.1", "1.2.3.256", "1.2.3.4.",
        "1.2.3.4.5", "999999999999", "4294967295", "4294967296", "0x100000000", "12.34.56.7a", "a.0x10", "0x", "0x.1.1.1",
        "1.0x10.3.4", "00000000000000001.2.3.4", "a.1example", "[::1]", "[2001:DB8::1]", "[::FFFF:1.2.3.4]", "[fe80::1%25eth0]",
        "[1.2.3.4]", "[::1]x", "[::1", "ex%41mple.com", "a!b.example", "", new string('a', 64) + ".example", "a_b",
    ];

    private static readonly string[] UserInfos = ["", "", "", "", "u@", "@", ":@", "u:p@", "u%41@", "u%%41@", "ü@", "u[x]@", "u^v@", "u@v@", "u\\v@", "u:p:q@"];

    private static readonly string[] Ports = ["", "", "", ":80", ":443", ":21", ":8080", ":080", ":0", ":", ":65535", ":65536", ":+80", ":8a", ":80:90", ":000000080"];

    private static readonly string[] Pieces =
    [
        "/", "/", "/", "/", "a", "B", "z9", ".", "..", "./", "../", "/.", "/..", "%2e", "%2E", "%2e%2e", "?", "?", "#", "#f",
        "\\", "%", "%%", "%4", "%G1", "%41", "%4a", "%7e", "%7E", "%2f", "%2F", "%25", "%20", "%e9", "%C3%A9", "%00", "%5C", "%3F",
        "é", "中", "😀", "\u00a0", "\"", "<", ">", "^", "`", "{", "|", "}", "[", "]", "!", "$", "&", "'", "(", ")", "*", "+", ",",
        ";", "=", ":", "@", "~", "-", "_",
    ];

    // Hosts that are valid (the first ones of Hosts) and pieces that refuse the whole URL are chosen less often, so that
    // about half the URLs are accepted and the rules for the parts after the host are reached.
    private static readonly string[] RarePieces = [" ", "\t", "\u0000", "\u007f", "\u0085", "%%41", "%2e%2e%2f"];

    private const int ValidHosts = 16;

    private static string GenerateUrl(Random random)
    {
        var builder = new StringBuilder();
        if (random.Next(50) == 0)
        {
            builder.Append(' ');
        }

        builder.Append(random.Next(6) == 0 ? Schemes[random.Next(Schemes.Length)] : Schemes[random.Next(3)]);
        builder.Append(UserInfos[random.Next(UserInfos.Length)]);
        builder.Append(random.Next(3) == 0 ? Hosts[random.Next(Hosts.Length)] : Hosts[random.Next(ValidHosts)]);
        builder.Append(Ports[random.Next(Ports.Length)]);
        if (random.Next(4) != 0)
        {
            builder.Append('/');
        }

        var pieces = random.Next(0, 12);
        for (var i = 0; i < pieces; i++)
        {
            builder.Append(random.Next(40) == 0 ? RarePieces[random.Next(RarePieces.Length)]
                : random.Next(3) == 0 ? (char)('a' + random.Next(26)) : Pieces[random.Next(Pieces.Length)]);
        }

        return builder.ToString();
    }

    private static string Show(string text) => "'" + text.Replace("\t", "\\t", StringComparison.Ordinal) + "'";
}
