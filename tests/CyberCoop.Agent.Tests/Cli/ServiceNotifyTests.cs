using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace CyberCoop.Agent.Tests.Cli;

/// <summary>
/// The agent's systemd unit is Type=notify (deploy/systemd/cybercoop-agent.service): the real agent process must tell
/// the service manager it is ready over $NOTIFY_SOCKET, or systemd would kill it at the start timeout.
/// </summary>
public sealed class ServiceNotifyTests(DevFederationFixture federation) : IClassFixture<DevFederationFixture>
{
    [Fact]
    public async Task Agent_run_sends_READY_to_the_service_managers_notify_socket()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory();
        var socketPath = dir.File("notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var agent = federation.Layout.Nodes[0].Agents[0];
        // The gateway is not running: the agent is ready (config, spool, offsets) and keeps retrying the gateway.
        var start = AgentProcess.StartInfo("run", "--config", agent.ConfigPath);
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        using var process = Process.Start(start)!;
        try
        {
            var buffer = new byte[4096];
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(90));
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);

            Assert.Contains("READY=1", Encoding.UTF8.GetString(buffer, 0, received), StringComparison.Ordinal);
            Assert.False(process.HasExited, "the agent keeps running after it reported ready");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }
}
