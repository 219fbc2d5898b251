using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using Google.Protobuf.WellKnownTypes;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

public sealed class StatusCommandTests : IDisposable
{
    private const string Helsinki = "spiffe://fi.cybercoop/gateway/helsinki";
    private readonly TempDirectory _temp = new();
    private readonly DevFederationLayout _federation;

    public StatusCommandTests()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
    }

    private DevNode Tallinn => _federation.Nodes[0];

    public void Dispose() => _temp.Dispose();

    private static NodeStatus SampleStatus(DateTimeOffset certificateNotAfter) => new()
    {
        Node = "spiffe://ee.cybercoop/gateway/tallinn",
        StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-5)),
        IndicatorsStored = 1234,
        SightingsIngested = 1500,
        SightingsRejected = 3,
        CallsDenied = 1,
        ConnectionsOpen = 17,
        ConnectionBudget = 57044,
        ConnectionsRefused = 2,
        CertificateNotAfter = Timestamp.FromDateTimeOffset(certificateNotAfter),
        Warnings = { "peer spiffe://lv.cybercoop/gateway/riga: key announcement is 2 days old" },
        Peers =
        {
            new PeerStatus
            {
                Peer = Helsinki, Address = "https://127.0.0.1:7402", Connected = true,
                ConnectedSince = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-4)),
                LastAck = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-2)),
                EnvelopesSent = 12, IndicatorsSent = 800, IndicatorsWithheld = 55, Suite = "hybrid",
            },
            new PeerStatus
            {
                Peer = "spiffe://lv.cybercoop/gateway/riga", Address = "https://127.0.0.1:7403", Connected = false,
                OutboxDepth = 7, OldestAgeSeconds = 125, LastError = "connection refused",
            },
        },
    };

    [Fact]
    public async Task Without_a_running_node_status_says_so_and_exits_1()
    {
        var result = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains($"no gateway is running (admin socket {Tallinn.AdminSocket} not found)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_socket_path_too_long_for_unix_sockets_is_named_as_the_problem()
    {
        var config = CyberCoop.Gateway.Configuration.GatewayConfigFile.Load(Tallinn.ConfigPath).Config;
        var longName = new string('s', 120) + ".sock";
        CyberCoop.Gateway.Configuration.GatewayConfigFile.Save(Tallinn.ConfigPath, config with { Node = config.Node with { AdminSocket = longName } });

        var result = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("longer than the 107 bytes", result.Error, StringComparison.Ordinal);
        Assert.Contains("node.adminSocket", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stale_socket_left_by_a_dead_node_is_reported_as_refused()
    {
        // .NET unlinks a socket it bound when it closes it; a dead process leaves the path behind, which a
        // plain file at the same path imitates (connect() is refused either way).
        File.WriteAllText(Tallinn.AdminSocket, "");

        var result = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.True(result.Error.Contains($"no gateway is running (admin socket {Tallinn.AdminSocket} refused)", StringComparison.Ordinal), result.ToString());
    }

    [Fact]
    public async Task Status_prints_node_totals_and_every_peer()
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.Status = SampleStatus(DateTimeOffset.UtcNow.AddDays(20));

        var result = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("indicators stored   1234", result.Output, StringComparison.Ordinal);
        Assert.Contains("connections         17 of 57044 inbound (2 closed at once at the budget)", result.Output, StringComparison.Ordinal);
        Assert.Contains(Helsinki, result.Output, StringComparison.Ordinal);
        Assert.Contains("DOWN", result.Output, StringComparison.Ordinal);
        Assert.Contains("7 (oldest 2m)", result.Output, StringComparison.Ordinal);
        Assert.Contains("connection refused", result.Output, StringComparison.Ordinal);
        Assert.Contains("key announcement is 2 days old", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("expires", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_says_when_inbound_connections_are_not_bounded()
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        var status = SampleStatus(DateTimeOffset.UtcNow.AddDays(20));
        status.ConnectionBudget = 0;
        server.State.Status = status;

        var result = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("connections         17 inbound (not bounded: open-file limit unknown)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_warns_when_the_certificate_expires_within_a_week()
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.Status = SampleStatus(DateTimeOffset.UtcNow.AddDays(2));

        var result = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("certificate expires in", result.Error, StringComparison.Ordinal);
        Assert.Contains("certs renew", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_json_is_the_admin_message_as_json()
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.Status = SampleStatus(DateTimeOffset.UtcNow.AddDays(20));

        var result = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath, "--json");

        Assert.Equal(0, result.ExitCode);
        using var document = JsonDocument.Parse(result.Output);
        Assert.Equal("1234", document.RootElement.GetProperty("indicatorsStored").GetString());
        Assert.Equal(2, document.RootElement.GetProperty("peers").GetArrayLength());
        Assert.False(document.RootElement.GetProperty("peers")[1].GetProperty("connected").GetBoolean());
    }

    [Fact]
    public async Task Editing_the_config_of_a_running_node_asks_it_to_reload_and_prints_the_result()
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.Reload = new ReloadConfigResponse { Applied = true, Messages = { $"peer {Helsinki} removed" } };

        var result = await CliRun.RunAsync("peers", "remove", "--config", Tallinn.ConfigPath, Helsinki);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(1, server.State.Reloads);
        Assert.Contains("reloaded", result.Output, StringComparison.Ordinal);
        Assert.Contains($"peer {Helsinki} removed", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_refused_by_the_node_is_reported_as_a_warning()
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.Reload = new ReloadConfigResponse { Applied = false, Messages = { "peers[0].address: cannot change while connected" } };

        var result = await CliRun.RunAsync("certs", "revoke", "--ca-dir", Tallinn.Directory, "--config", Tallinn.ConfigPath, "--serial", "0A0B");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("refused to reload", result.Error, StringComparison.Ordinal);
        Assert.Contains("peers[0].address", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Grpc.Core.StatusCode.DeadlineExceeded, "did not confirm its reload")]
    [InlineData(Grpc.Core.StatusCode.Internal, "answered Internal: Exception was thrown by handler")]
    public async Task A_reload_the_node_does_not_answer_is_one_clear_error_after_the_change_is_written(Grpc.Core.StatusCode code, string expected)
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.ReloadFailure = new Grpc.Core.Status(code, code == Grpc.Core.StatusCode.Internal ? "Exception was thrown by handler." : "");

        var result = await CliRun.RunAsync("certs", "revoke", "--ca-dir", Tallinn.Directory, "--config", Tallinn.ConfigPath, "--serial", "0A0C");

        // Found running the operator guide verbatim on a busy machine: the reload after 'certs revoke' took longer than the
        // CLI's deadline and the command ended with an unhandled RpcException and a stack trace, after the bundle was written.
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(1, server.State.Reloads);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.Contains("revoked serial 0A0C", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_c_while_a_status_call_is_in_flight_ends_watch_cleanly()
    {
        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.HoldStatus = true;
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var cancel = new CancellationTokenSource();
        var watch = CliRun.RunUntilCancelledAsync(output, error, cancel.Token,
            "status", "--config", Tallinn.ConfigPath, "--watch", "--interval", "1");
        await WaitForAsync(() => Volatile.Read(ref server.State.StatusCalls) > 0);

        await cancel.CancelAsync();
        var exit = await watch.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        // Was exit 1 with an unhandled RpcException (Cancelled): gRPC reports the caller's own cancellation that way.
        Assert.Equal(0, exit);
        Assert.DoesNotContain("   at ", error.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_prints_snapshots_until_cancelled_and_survives_a_node_that_is_not_up_yet()
    {
        using var output = new SyncStringWriter();
        using var error = new SyncStringWriter();
        using var cancel = new CancellationTokenSource();
        var watch = CliRun.RunUntilCancelledAsync(output, error, cancel.Token,
            "status", "--config", Tallinn.ConfigPath, "--watch", "--interval", "1");
        await WaitForAsync(() => error.Text.Contains("no gateway is running", StringComparison.Ordinal));

        await using var server = await FakeAdminServer.StartAsync(Tallinn.AdminSocket);
        server.State.Status = SampleStatus(DateTimeOffset.UtcNow.AddDays(20));
        await WaitForAsync(() => output.Text.Contains("indicators stored   1234", StringComparison.Ordinal));
        await cancel.CancelAsync();
        var exit = await watch.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(0, exit);
        Assert.True(output.Text.Split('\n').Count(l => l.StartsWith("--- ", StringComparison.Ordinal)) >= 2);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
