using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Tests.Pipeline;

public sealed class IndicatorIdsTests
{
    [Fact]
    public void Uuid_v5_matches_the_RFC_9562_test_vector()
    {
        // RFC 9562 appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
        var dns = new Guid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");

        var id = IndicatorIds.ComputeV5(dns, Encoding.UTF8.GetBytes("www.example.com"));

        Assert.Equal("2ed6657d-e927-568b-95e1-2665a8aea6a2", id.ToString("D"));
    }

    [Fact]
    public void Id_is_a_lower_case_version_5_uuid()
    {
        var id = IndicatorIds.Compute(IndicatorType.Ipv4, "192.0.2.1");

        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id);
    }

    [Fact]
    public void Id_is_the_uuid_v5_of_type_name_and_value_in_the_cybercoop_namespace()
    {
        var expected = IndicatorIds.ComputeV5(IndicatorIds.Namespace, Encoding.UTF8.GetBytes("sha256:" + new string('a', 64))).ToString("D");

        Assert.Equal(expected, IndicatorIds.Compute(IndicatorType.Sha256, new string('a', 64)));
    }

    [Fact]
    public void Two_spellings_of_the_same_domain_get_the_same_id()
    {
        var a = IndicatorNormalizer.Normalize(IndicatorType.Domain, "Bücher.Example.");
        var b = IndicatorNormalizer.Normalize(IndicatorType.Domain, "xn--bcher-kva.example");

        Assert.Equal(IndicatorIds.Compute(IndicatorType.Domain, a.Value), IndicatorIds.Compute(IndicatorType.Domain, b.Value));
    }

    [Fact]
    public void Same_value_under_different_types_gets_different_ids()
    {
        var hash = new string('0', 32);

        Assert.NotEqual(IndicatorIds.Compute(IndicatorType.Md5, hash), IndicatorIds.Compute(IndicatorType.Ja3, hash));
    }

    [Fact]
    public void Id_is_stable_across_runs()
    {
        // Pinned: a change here changes every id in every deployed node.
        Assert.Equal(IndicatorIds.Compute(IndicatorType.Ipv4, "192.0.2.1"), IndicatorIds.Compute(IndicatorType.Ipv4, "192.0.2.1"));
        Assert.Equal(new Guid("357d0532-a004-49c9-a824-682ad4309b81"), IndicatorIds.Namespace);
    }

    [Theory]
    [InlineData(IndicatorType.Ipv4, "192.0.2.1", "0ba0b1ba-3cbc-51f8-8ec4-b4609e88b9da")]
    [InlineData(IndicatorType.Domain, "xn--bcher-kva.example", "e6cb3e4d-d8ed-5377-8285-77411b22233c")]
    public void Id_matches_an_independent_uuid5_implementation(IndicatorType type, string value, string expected)
    {
        // Expected values computed with Python's uuid.uuid5 in the CyberCoop namespace.
        Assert.Equal(expected, IndicatorIds.Compute(type, value));
    }

    [Fact]
    public void Unspecified_type_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IndicatorIds.Compute(IndicatorType.Unspecified, "x"));
    }
}
