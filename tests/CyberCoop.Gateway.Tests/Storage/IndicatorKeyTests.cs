using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>The id's lookup key: 16 bytes for a canonical UUID id, the text itself for anything else (one-to-one).</summary>
public sealed class IndicatorKeyTests
{
    [Fact]
    public void A_canonical_id_becomes_its_sixteen_uuid_bytes()
    {
        var guid = Guid.Parse("357d0532-a004-59c9-a824-682ad4309b81");

        var key = IndicatorKey.Of(guid.ToString("D"));

        Assert.Equal(guid.ToByteArray(bigEndian: true), Assert.IsType<byte[]>(key));
    }

    [Theory]
    [InlineData("357D0532-A004-59C9-A824-682AD4309B81")] // upper case: a different id, kept apart
    [InlineData("357d0532a004-59c9-a824-682ad4309b81-")] // dash misplaced
    [InlineData("357d0532-a004-59c9-a824-682ad4309b8g")] // not hex
    [InlineData("357d0532-a004-59c9-a824-682ad4309b8")] // too short
    [InlineData("357d0532-a004-59c9-a824-682ad4309b811")] // too long
    [InlineData("{357d0532-a004-59c9-a824-682ad4309b8}")]
    [InlineData("")]
    [InlineData("legacy-id")]
    public void Any_other_id_stays_text(string id)
    {
        Assert.Equal(id, Assert.IsType<string>(IndicatorKey.Of(id)));
    }

    [Fact]
    public void A_null_id_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => IndicatorKey.Of(null!));
    }
}
