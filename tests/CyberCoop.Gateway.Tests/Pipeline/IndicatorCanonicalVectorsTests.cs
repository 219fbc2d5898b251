using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Tests.Pipeline;

/// <summary>
/// The conformance vectors of docs/protocol.md §7 for every type but url (tests/vectors/indicator-canonical.txt): what
/// another nation's implementation must compute, so that the same observable gets the same id on both sides.
/// </summary>
public sealed class IndicatorCanonicalVectorsTests
{
    public static TheoryData<int, string, string, string, string> Vectors()
    {
        var data = new TheoryData<int, string, string, string, string>();
        foreach (var (line, fields) in VectorFile.Read("indicator-canonical.txt", 4))
        {
            data.Add(line, fields[0], VectorFile.Unescape(fields[1]), fields[2], fields[3]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Conformance_vector_holds(int line, string typeName, string input, string canonical, string id)
    {
        Assert.True(IndicatorTypeNames.TryParse(typeName, out var type), $"line {line}: unknown type '{typeName}'");
        var result = IndicatorNormalizer.Normalize(type, input);
        if (canonical == "refused")
        {
            Assert.False(result.Ok, $"line {line}: accepted as '{result.Value}'");
            Assert.Equal("-", id);
            return;
        }

        Assert.True(result.Ok, $"line {line}: {result.Error}");
        Assert.Equal(canonical, result.Value);
        Assert.Equal(id, IndicatorIds.Compute(type, canonical));
        Assert.Equal(canonical, IndicatorNormalizer.Normalize(type, canonical).Value);
    }

    [Fact]
    public void Every_type_but_url_has_vectors_accepted_and_refused()
    {
        var rows = VectorFile.Read("indicator-canonical.txt", 4).Select(r => r.Fields).ToList();
        foreach (var type in new[] { "ipv4", "ipv6", "cidr", "domain", "email", "md5", "sha1", "sha256", "sha512", "ja3", "ja4", "asn", "cve" })
        {
            Assert.Contains(rows, r => r[0] == type && r[2] != "refused");
        }

        foreach (var type in new[] { "ipv4", "ipv6", "cidr", "domain", "email", "md5", "sha256", "ja4", "asn", "cve" })
        {
            Assert.Contains(rows, r => r[0] == type && r[2] == "refused");
        }
    }
}
