using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Tests.Policy;

public sealed class TlpNamesTests
{
    [Theory]
    [InlineData("CLEAR", Tlp.Clear)]
    [InlineData("green", Tlp.Green)]
    [InlineData("TLP:AMBER", Tlp.Amber)]
    [InlineData("AMBER+STRICT", Tlp.AmberStrict)]
    [InlineData("amber_strict", Tlp.AmberStrict)]
    [InlineData(" RED ", Tlp.Red)]
    public void Tlp_names_parse(string text, Tlp expected)
    {
        Assert.Equal(expected, TlpNames.Parse(text));
    }

    [Theory]
    [InlineData("WHITE")]
    [InlineData("UNSPECIFIED")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_tlp_names_are_refused(string? text)
    {
        Assert.False(TlpNames.TryParse(text, out _));
        Assert.Throws<FormatException>(() => TlpNames.Parse(text));
    }

    [Fact]
    public void Names_round_trip()
    {
        foreach (var name in TlpNames.All)
        {
            Assert.Equal(name, TlpNames.ToName(TlpNames.Parse(name)));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => TlpNames.ToName(Tlp.Unspecified));
    }
}
