using CyberCoop.Gateway.Cli.Certs;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>Makes a development federation on free loopback ports for a test.</summary>
internal static class DevFederationFixture
{
    public static DevFederationLayout Create(string directory) =>
        DevFederation.Create(directory, new DevFederationOptions { BasePort = 0 });
}
