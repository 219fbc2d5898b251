namespace CyberCoop.Federation.Tests;

/// <summary>
/// The built gateway run as a real child process (<c>dotnet CyberCoop.Gateway.dll serve</c>), so durability claims are
/// tested against real process death: SIGKILL or SIGTERM.
/// </summary>
internal static class GatewayProcess
{
    /// <summary>Starts <c>serve --config</c> and waits until the mTLS port accepts connections (optionally under an open-file limit).</summary>
    public static Task<ChildProcess> StartAsync(string configPath, int port, int? openFileLimit = null) =>
        ChildProcess.StartAsync("gateway", "CyberCoop.Gateway.dll", ["serve", "--config", configPath], port, TimeSpan.FromSeconds(30),
            CancellationToken.None, openFileLimit);
}
