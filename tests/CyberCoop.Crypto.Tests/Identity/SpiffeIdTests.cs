namespace CyberCoop.Crypto.Tests;

public sealed class SpiffeIdTests
{
    [Theory]
    [InlineData("spiffe://ee.cybercoop/gateway/tallinn", "ee.cybercoop", WorkloadKind.Gateway, "tallinn")]
    [InlineData("spiffe://fi.cybercoop/agent/sensor-01", "fi.cybercoop", WorkloadKind.Agent, "sensor-01")]
    [InlineData("spiffe://a_b-c.d0/operator/Alice.Smith", "a_b-c.d0", WorkloadKind.Operator, "Alice.Smith")]
    public void Well_formed_ids_parse_and_round_trip(string text, string domain, WorkloadKind kind, string name)
    {
        var id = SpiffeId.Parse(text);

        Assert.Equal(new SpiffeId(domain, kind, name), id);
        Assert.Equal(text, id.ToString());
        Assert.True(SpiffeId.TryParse(text, out var again, out var error));
        Assert.Null(error);
        Assert.Equal(id, again);
    }

    [Theory]
    [InlineData("spiffe://EE.cybercoop/gateway/tallinn", "upper-case")]
    [InlineData("spiffe://ee.cybercoop:8443/gateway/tallinn", "port")]
    [InlineData("spiffe://user@ee.cybercoop/gateway/tallinn", "user info")]
    [InlineData("spiffe://ee.cybercoop/gateway/tallinn?x=1", "query")]
    [InlineData("spiffe://ee.cybercoop/gateway/tallinn#frag", "fragment")]
    [InlineData("SPIFFE://ee.cybercoop/gateway/tallinn", "lower-case 'spiffe'")]
    [InlineData("https://ee.cybercoop/gateway/tallinn", "spiffe://")]
    [InlineData("spiffe://ee.cybercoop", "path is missing")]
    [InlineData("spiffe:///gateway/tallinn", "empty")]
    [InlineData("spiffe://ee.cybercoop/gateway", "exactly two segments")]
    [InlineData("spiffe://ee.cybercoop/gateway/tallinn/extra", "exactly two segments")]
    [InlineData("spiffe://ee.cybercoop/gateway/tallinn/", "trailing '/'")]
    [InlineData("spiffe://ee.cybercoop/server/tallinn", "unknown workload kind")]
    [InlineData("spiffe://ee.cybercoop/gateway/", "name is empty")]
    [InlineData("spiffe://ee.cybercoop/gateway/..", "relative")]
    [InlineData("spiffe://ee.cybercoop/gateway/tal%20linn", "U+0025")]
    [InlineData("spiffe://ee.cyber coop/gateway/tallinn", "U+0020")]
    [InlineData("", "empty")]
    public void Malformed_ids_are_rejected_with_a_precise_reason(string text, string expectedReason)
    {
        Assert.False(SpiffeId.TryParse(text, out _, out var error));
        Assert.Contains(expectedReason, error, StringComparison.Ordinal);
        if (text.Length > 0)
        {
            var ex = Assert.Throws<FormatException>(() => SpiffeId.Parse(text));
            Assert.Contains(expectedReason, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Null_is_rejected_without_null_reference()
    {
        Assert.False(SpiffeId.TryParse(null, out _, out var error));
        Assert.Equal("value is empty", error);
        Assert.Throws<ArgumentNullException>(() => SpiffeId.Parse(null!));
    }

    [Fact]
    public void Overlong_id_is_rejected()
    {
        var text = "spiffe://ee.cybercoop/gateway/" + new string('a', 2100);

        Assert.False(SpiffeId.TryParse(text, out _, out var error));
        Assert.Contains("2048", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Factories_validate_their_parts()
    {
        Assert.Equal("spiffe://ee.cybercoop/gateway/tallinn", SpiffeId.Gateway("ee.cybercoop", "tallinn").ToString());
        Assert.Equal("spiffe://ee.cybercoop/agent/s1", SpiffeId.Agent("ee.cybercoop", "s1").ToString());
        Assert.Equal("spiffe://ee.cybercoop/operator/o1", SpiffeId.Operator("ee.cybercoop", "o1").ToString());
        Assert.Throws<ArgumentException>(() => SpiffeId.Gateway("EE.cybercoop", "tallinn"));
        Assert.Throws<ArgumentException>(() => SpiffeId.Gateway("ee.cybercoop", "a/b"));
        Assert.Throws<ArgumentException>(() => SpiffeId.Agent("ee.cybercoop", ""));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpiffeId.Create("ee.cybercoop", (WorkloadKind)9, "x"));
    }
}
