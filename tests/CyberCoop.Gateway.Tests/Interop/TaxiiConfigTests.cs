using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>The <c>taxii</c> section of gateway.json is validated with every problem named; secrets are PBKDF2 hashes.</summary>
public sealed class TaxiiConfigTests
{
    [Fact]
    public void Every_bad_taxii_field_is_reported_at_once_naming_the_field()
    {
        var taxii = new TaxiiConfig
        {
            Listen = "not-an-endpoint",
            MaxPageSize = 0,
            Analysts =
            [
                new TaxiiAnalystConfig { Name = "bad name/x", SecretHash = "plaintext-secret", Clearance = "PURPLE" },
                new TaxiiAnalystConfig { Name = "ok" },
                new TaxiiAnalystConfig { Name = "ok", SecretHash = "pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
            ],
        };
        var errors = new List<string>();

        TaxiiConfigValidator.Validate(taxii, new NodeConfig { Listen = "127.0.0.1:7400" }, errors);

        Assert.Contains(errors, e => e.StartsWith("taxii.listen:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("taxii.maxPageSize:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("taxii.analysts[0].name:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("taxii.analysts[0].secretHash:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("taxii.analysts[0].clearance:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("taxii.analysts[2].name:", StringComparison.Ordinal) && e.Contains("more than once", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("taxii.analysts[2].secretHash:", StringComparison.Ordinal) && e.Contains("iterations", StringComparison.Ordinal));
    }

    [Fact]
    public void Taxii_on_the_federation_port_is_refused()
    {
        var errors = new List<string>();

        TaxiiConfigValidator.Validate(new TaxiiConfig { Listen = "127.0.0.1:7400" }, new NodeConfig { Listen = "127.0.0.1:7400" }, errors);

        Assert.Contains(errors, e => e.StartsWith("taxii.listen:", StringComparison.Ordinal) && e.Contains("own port", StringComparison.Ordinal));
    }

    [Fact]
    public void A_secret_hash_verifies_only_the_same_secret_and_refuses_malformed_or_weak_hashes()
    {
        var hash = SecretHash.Hash("correct horse battery staple", SecretHash.MinimumIterations);

        Assert.True(SecretHash.Verify("correct horse battery staple", hash));
        Assert.False(SecretHash.Verify("correct horse battery stapl", hash));
        Assert.False(SecretHash.Verify("", hash));
        Assert.False(SecretHash.Verify("correct horse battery staple", hash.Replace("pbkdf2-sha256", "pbkdf2-sha1", StringComparison.Ordinal)));
        Assert.False(SecretHash.Verify("correct horse battery staple", "pbkdf2-sha256$1000$" + hash.Split('$')[2] + "$" + hash.Split('$')[3]));
        Assert.False(SecretHash.Verify("x", "garbage"));
        Assert.NotEqual(hash, SecretHash.Hash("correct horse battery staple", SecretHash.MinimumIterations)); // fresh salt
        Assert.Throws<ArgumentOutOfRangeException>(() => SecretHash.Hash("secret", 1000));
    }
}
