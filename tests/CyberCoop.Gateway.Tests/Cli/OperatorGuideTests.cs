using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using Microsoft.Extensions.Logging;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>docs/operator-guide.md sections 1-8, command by command: from an empty folder to two peered nodes exchanging an indicator.</summary>
public sealed class OperatorGuideTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    private static async Task<string> RunOkAsync(params string[] args)
    {
        var result = await CliRun.RunAsync(args);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}{Environment.NewLine}{result}");
        return result.Output;
    }

    private static void WriteMinimalConfig(string path, string domain, string name, int port) =>
        File.WriteAllText(path, $$"""
            {
              "node": {
                "trustDomain": "{{domain}}",
                "name": "{{name}}",
                "listen": "127.0.0.1:{{port}}",
                "tls": { "certificate": "{{name}}.crt", "key": "{{name}}.key", "root": "root.crt" },
                "trustBundle": "trust-bundle.pb"
              }
            }
            """);

    [Fact]
    public async Task Two_nations_set_up_with_the_guides_commands_exchange_an_indicator()
    {
        var ee = _temp.Combine("ee");
        var fi = _temp.Combine("fi");
        var ports = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve(2);

        // 1-2: trust domains and gateway certificates.
        await RunOkAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", Path.Combine(ee, "ca"));
        await RunOkAsync("certs", "issue", "--ca-dir", Path.Combine(ee, "ca"), "--kind", "gateway", "--name", "tallinn", "--out", Path.Combine(ee, "node"));
        File.Copy(Path.Combine(ee, "ca", "root.crt"), Path.Combine(ee, "node", "root.crt"));
        File.Copy(Path.Combine(ee, "ca", "trust-bundle.pb"), Path.Combine(ee, "node", "trust-bundle.pb"));
        await RunOkAsync("certs", "init-domain", "--domain", "fi.cybercoop", "--out", Path.Combine(fi, "ca"));
        await RunOkAsync("certs", "issue", "--ca-dir", Path.Combine(fi, "ca"), "--kind", "gateway", "--name", "helsinki", "--out", Path.Combine(fi, "node"));
        File.Copy(Path.Combine(fi, "ca", "root.crt"), Path.Combine(fi, "node", "root.crt"));
        File.Copy(Path.Combine(fi, "ca", "trust-bundle.pb"), Path.Combine(fi, "node", "trust-bundle.pb"));

        // 3: minimal gateway.json files.
        var eeConfig = Path.Combine(ee, "node", "gateway.json");
        var fiConfig = Path.Combine(fi, "node", "gateway.json");
        WriteMinimalConfig(eeConfig, "ee.cybercoop", "tallinn", ports[0]);
        WriteMinimalConfig(fiConfig, "fi.cybercoop", "helsinki", ports[1]);

        // 4: read pins to each other; Estonia pins Finland from the root file Finland sent.
        var fiPin = (await RunOkAsync("certs", "fingerprint", Path.Combine(fi, "ca", "root.crt"))).Trim();
        var eePin = (await RunOkAsync("certs", "fingerprint", Path.Combine(ee, "ca", "root.crt"))).Trim();
        await RunOkAsync("peers", "add", "--config", eeConfig, "--id", "spiffe://fi.cybercoop/gateway/helsinki",
            "--address", $"https://127.0.0.1:{ports[1]}", "--root", Path.Combine(fi, "ca", "root.crt"), "--pin", fiPin, "--tlp-ceiling", "AMBER");

        // 7: an agent certificate.
        await RunOkAsync("certs", "issue", "--ca-dir", Path.Combine(ee, "ca"), "--kind", "agent", "--name", "grid-sensor", "--out", Path.Combine(ee, "agent"));

        // 5: serve (in-process here); 4: Finland pins Estonia from the running gateway, with only the pin.
        var quiet = new GatewayNodeOptions { ConfigureLogging = logging => logging.ClearProviders() };
        await using var tallinn = await GatewayNode.StartAsync(eeConfig, quiet, TestContext.Current.CancellationToken);
        await RunOkAsync("peers", "add", "--config", fiConfig, "--id", "spiffe://ee.cybercoop/gateway/tallinn",
            "--address", $"https://127.0.0.1:{ports[0]}", "--fetch", "--pin", eePin);
        await using var helsinki = await GatewayNode.StartAsync(fiConfig, quiet, TestContext.Current.CancellationToken);

        // 6: status answers.
        var status = await RunOkAsync("status", "--config", eeConfig);
        Assert.Contains("spiffe://fi.cybercoop/gateway/helsinki", status, StringComparison.Ordinal);

        // The agent sends an AMBER sighting; Finland receives it (8).
        var outcome = await AgentClient.IngestAsync($"https://127.0.0.1:{ports[0]}", Path.Combine(ee, "ca", "root.crt"),
            Path.Combine(ee, "agent", "grid-sensor.crt"), Path.Combine(ee, "agent", "grid-sensor.key"), "guide-walkthrough.example");
        Assert.Equal(ItemOutcome.Accepted, outcome);
        var id = IndicatorIds.Compute(IndicatorType.Domain, "guide-walkthrough.example");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        Indicator? received;
        while ((received = await helsinki.Runtime.Store.GetIndicatorAsync(id, timeout.Token)) is null)
        {
            await Task.Delay(100, timeout.Token);
        }

        Assert.Equal("ee.cybercoop", received.OriginDomain);
        Assert.Equal(Tlp.Amber, received.Tlp);

        // 11: revoke the agent: the root re-signs the bundle, the running node reloads it and refuses the agent.
        string serial;
        using (var agentCertificate = CyberCoop.Crypto.PemFiles.LoadCertificate(Path.Combine(ee, "agent", "grid-sensor.crt")))
        {
            serial = agentCertificate.SerialNumber;
        }

        var revoke = await RunOkAsync("certs", "revoke", "--ca-dir", Path.Combine(ee, "ca"), "--serial", serial, "--config", eeConfig);
        Assert.Contains("the running gateway reloaded its config", revoke, StringComparison.Ordinal);
        Assert.Contains("sequence       2", await RunOkAsync("certs", "bundle", "show", Path.Combine(ee, "node", "trust-bundle.pb")), StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => AgentClient.IngestAsync($"https://127.0.0.1:{ports[0]}", Path.Combine(ee, "ca", "root.crt"),
            Path.Combine(ee, "agent", "grid-sensor.crt"), Path.Combine(ee, "agent", "grid-sensor.key"), "after-revocation.example"));

        // 12: both audit logs verify.
        Assert.Contains("audit log OK", await RunOkAsync("audit", "verify", "--config", eeConfig), StringComparison.Ordinal);
        Assert.Contains("audit log OK", await RunOkAsync("audit", "verify", "--config", fiConfig), StringComparison.Ordinal);
    }
}
