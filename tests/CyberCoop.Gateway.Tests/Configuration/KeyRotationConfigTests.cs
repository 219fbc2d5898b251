using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Tests.Cli;

namespace CyberCoop.Gateway.Tests.Configuration;

/// <summary>node.keyRotation is validated with the other fields, each error naming its field.</summary>
public sealed class KeyRotationConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _baseDirectory;
    private readonly GatewayConfig _valid;

    public KeyRotationConfigTests()
    {
        var node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        _valid = GatewayConfigFile.Load(node.ConfigPath).Config;
        _baseDirectory = Path.GetDirectoryName(node.ConfigPath)!;
    }

    public void Dispose() => _dir.Dispose();

    private List<string> Validate(KeyRotationConfig? rotation, int refreshSeconds = 300) =>
        GatewayConfigValidator.Validate(_valid with { Node = _valid.Node with { KeyRotation = rotation!, TrustBundleRefreshSeconds = refreshSeconds } }, _baseDirectory);

    [Fact]
    public void Defaults_announce_three_refresh_intervals_ahead_with_a_seven_day_grace()
    {
        Assert.Equal(3, _valid.Node.KeyRotation.AnnounceAheadIntervals);
        Assert.Equal(7 * 86_400, _valid.Node.KeyRotation.RetiredGraceSeconds);
        Assert.Empty(Validate(new KeyRotationConfig()));
    }

    [Theory]
    [InlineData(0, 604_800, "node.keyRotation.announceAheadIntervals: 0 must be between 1 and 100")]
    [InlineData(101, 604_800, "node.keyRotation.announceAheadIntervals: 101 must be between 1 and 100")]
    [InlineData(3, 59, "node.keyRotation.retiredGraceSeconds: 59 must be between 60")]
    [InlineData(3, 300, "node.keyRotation.retiredGraceSeconds: 300 must be at least node.replayWindowSeconds and twice node.trustBundleRefreshSeconds (600)")]
    public void Bad_rotation_settings_are_refused_naming_the_field(int intervals, int grace, string expected)
    {
        var errors = Validate(new KeyRotationConfig { AnnounceAheadIntervals = intervals, RetiredGraceSeconds = grace });

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void New_keys_more_than_thirty_days_ahead_and_a_missing_section_are_refused()
    {
        Assert.Contains(Validate(new KeyRotationConfig { AnnounceAheadIntervals = 100 }, refreshSeconds: 86_400),
            e => e.StartsWith("node.keyRotation.announceAheadIntervals: 100 x node.trustBundleRefreshSeconds 86400", StringComparison.Ordinal));
        Assert.Contains(Validate(null), e => e == "node.keyRotation: must not be null");
    }
}
