using System.Security.Cryptography;

namespace CyberCoop.Crypto.Tests;

public sealed class SpkiPinTests
{
    [Fact]
    public void Pin_is_sha256_of_the_spki_in_lower_hex_with_prefix()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        var expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(ca.Certificate.PublicKey.ExportSubjectPublicKeyInfo()));

        var pin = SpkiPin.Compute(ca.Certificate);

        Assert.Equal(expected, pin);
        Assert.Equal(71, pin.Length);
    }

    [Fact]
    public void Human_spellings_normalize_and_match()
    {
        using var ca = CertificateAuthority.CreateRoot("ee.cybercoop");
        var pin = SpkiPin.Compute(ca.Certificate);
        var hex = pin["sha256:".Length..];
        var colons = string.Join(':', Enumerable.Range(0, 32).Select(i => hex.Substring(i * 2, 2)));

        foreach (var spelling in new[] { pin, hex, hex.ToUpperInvariant(), "SHA256:" + hex.ToUpperInvariant(), colons, "sha256:" + colons.ToUpperInvariant(), "  " + pin + " " })
        {
            Assert.True(SpkiPin.TryNormalize(spelling, out var normalized, out var error), error);
            Assert.Equal(pin, normalized);
            Assert.True(SpkiPin.Matches(ca.Certificate, spelling));
        }
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("sha256:abcd", "64 hex digits")]
    [InlineData("sha256:zz00000000000000000000000000000000000000000000000000000000000000", "non-hex")]
    public void Malformed_pins_are_rejected_with_a_reason(string? pin, string reason)
    {
        Assert.False(SpkiPin.TryNormalize(pin, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Pin_of_another_key_does_not_match()
    {
        using var a = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var b = CertificateAuthority.CreateRoot("ee.cybercoop");

        Assert.False(SpkiPin.Matches(a.Certificate, b.Pin));
        Assert.False(SpkiPin.Matches(a.Certificate, "not a pin"));
    }
}
