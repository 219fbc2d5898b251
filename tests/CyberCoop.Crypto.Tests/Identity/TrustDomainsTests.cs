namespace CyberCoop.Crypto.Tests;

public sealed class TrustDomainsTests
{
    [Theory]
    [InlineData("ee.cybercoop")]
    [InlineData("fi-cybercoop_1.test")]
    [InlineData("x")]
    public void Valid_trust_domains_are_accepted(string domain)
    {
        Assert.True(TrustDomains.IsValid(domain, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("EE.cybercoop", "upper-case")]
    [InlineData("ee.cybercoop:443", "ports")]
    [InlineData("a@ee.cybercoop", "user info")]
    [InlineData("ee.cybercoop/x", "'/'")]
    [InlineData("ee.cybercoop?x", "queries")]
    [InlineData("ee.cybercoop#x", "fragments")]
    [InlineData("ee%2ecybercoop", "percent")]
    [InlineData("ee.cybercöop", "U+00F6")]
    public void Invalid_trust_domains_are_rejected_with_the_reason(string? domain, string reason)
    {
        Assert.False(TrustDomains.IsValid(domain, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlong_trust_domain_is_rejected()
    {
        Assert.False(TrustDomains.IsValid(new string('a', 256), out var error));
        Assert.Contains("255", error, StringComparison.Ordinal);
    }
}
