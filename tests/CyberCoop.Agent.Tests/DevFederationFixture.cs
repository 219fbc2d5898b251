using CyberCoop.Gateway.Cli.Certs;

namespace CyberCoop.Agent.Tests;

/// <summary>A development federation made by the operator CLI's <c>certs dev</c> code: real roots, gateways, agents and configs.</summary>
public sealed class DevFederationFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public DevFederationFixture()
    {
        Layout = DevFederation.Create(Path.Combine(_dir.Path, "fed"), new DevFederationOptions { BasePort = 0 });
    }

    internal DevFederationLayout Layout { get; }

    public void Dispose() => _dir.Dispose();
}
