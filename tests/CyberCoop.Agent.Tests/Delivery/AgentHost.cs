using System.Diagnostics;
using System.Text;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Tests.Delivery;

/// <summary>A real agent process (<c>run --config</c>) whose output is captured while it runs (see <see cref="ChildProcess"/>).</summary>
internal static class AgentHost
{
    public static ChildProcess Start(string configPath) => ChildProcess.Start("agent", "CyberCoop.Agent.dll", ["run", "--config", configPath]);
}

/// <summary>The gateway's operator command line run in-process, and a real gateway node on loopback.</summary>
internal static class GatewayCli
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args, new System.CommandLine.InvocationConfiguration { Output = output, Error = error }, timeout.Token);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs a command that must succeed; fails the test with its output otherwise.</summary>
    public static async Task<string> MustAsync(params string[] args)
    {
        var (exit, output, error) = await RunAsync(args);
        Assert.True(exit == 0, $"'{string.Join(' ', args)}' exited {exit}:\n{output}\n{error}");
        return output;
    }

    public static Task<GatewayNode> StartAsync(string configPath, CancellationToken ct) =>
        GatewayNode.StartAsync(configPath, new GatewayNodeOptions { ConfigureLogging = b => b.SetMinimumLevel(LogLevel.Error) }, ct);
}

/// <summary>Awaited conditions (never fixed sleeps).</summary>
internal static class Eventually
{
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, Func<string>? explain = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, explain);

    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? explain = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("condition not reached within " + timeout + (explain is null ? "" : ":\n" + explain()));
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>
/// One nation laid out as docs/operator-guide.md §1-3 and §7 do it, with the CLI: ca/ (init-domain), node/ (the gateway's
/// certificate, root and bundle beside a minimal gateway.json on a free loopback port) and agents/&lt;name&gt;/.
/// </summary>
internal sealed class GuideDomain(string trustDomain, string gatewayName) : IDisposable
{
    private readonly string _trustDomain = trustDomain;
    private readonly string _gatewayName = gatewayName;
    private readonly TempDirectory _dir = new();

    /// <summary>Loopback port of the gateway.</summary>
    public int Port { get; } = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve();

    public string P(params string[] parts) => Path.Combine([_dir.Path, .. parts]);

    /// <summary>§2-3 of the guide: the gateway's certificate, root and bundle copied beside a minimal gateway.json.</summary>
    public async Task SetUpGatewayAsync(string caDir)
    {
        await GatewayCli.MustAsync("certs", "issue", "--ca-dir", P(caDir), "--kind", "gateway", "--name", _gatewayName, "--out", P("node"));
        File.Copy(P(caDir, "root.crt"), P("node", "root.crt"));
        File.Copy(P(caDir, "trust-bundle.pb"), P("node", "trust-bundle.pb"));
        File.WriteAllText(P("node", "gateway.json"), $$"""
            {
              "node": {
                "trustDomain": "{{_trustDomain}}",
                "name": "{{_gatewayName}}",
                "listen": "127.0.0.1:{{Port}}",
                "tls": { "certificate": "{{_gatewayName}}.crt", "key": "{{_gatewayName}}.key", "root": "root.crt" },
                "trustBundle": "trust-bundle.pb"
              }
            }
            """);
    }

    /// <summary>§7 of the guide: an agent certificate, the own root and its pin, agent.json reading feeds/eve.json.</summary>
    public async Task<string> SetUpAgentAsync(string name, string caDir = "ca", string? pinnedCa = null)
    {
        var folder = P("agents", name);
        await GatewayCli.MustAsync("certs", "issue", "--ca-dir", P(caDir), "--kind", "agent", "--name", name, "--out", folder);
        File.Copy(P(pinnedCa ?? caDir, "root.crt"), Path.Combine(folder, "root.crt"));
        var pin = (await GatewayCli.MustAsync("certs", "fingerprint", Path.Combine(folder, "root.crt"))).Trim();
        File.WriteAllText(Path.Combine(folder, "agent.json"), $$"""
            {
              "name": "{{name}}",
              "trustDomain": "{{_trustDomain}}",
              "gateway": { "address": "https://127.0.0.1:{{Port}}", "expectedId": "spiffe://{{_trustDomain}}/gateway/{{_gatewayName}}" },
              "tls": { "certificate": "{{name}}.crt", "key": "{{name}}.key", "root": "root.crt", "rootPin": "{{pin}}" },
              "homeNet": ["10.0.0.0/8"],
              "allowlist": [],
              "sources": [
                { "name": "suricata", "path": "feeds/eve.json", "format": "eve", "tlp": "AMBER", "confidence": 70, "tags": ["ids"], "sectors": ["energy"] }
              ],
              "spool": { "directory": "spool", "maxBytes": 67108864 },
              "batch": { "maxItems": 100, "lingerMilliseconds": 50 },
              "stateFile": "agent-state.json",
              "pollMilliseconds": 50
            }
            """);
        Directory.CreateDirectory(Path.Combine(folder, "feeds"));
        return folder;
    }

    public static string Address(int agent, int n) => $"45.{agent + 1}.{(n >> 8) & 255}.{n & 255}";

    public static void WriteEve(string agentFolder, int agent, int from, int count)
    {
        var sb = new StringBuilder();
        for (var n = from; n < from + count; n++)
        {
            sb.Append("{\"timestamp\":\"2024-05-01T10:00:00.000000+0000\",\"event_type\":\"alert\",\"src_ip\":\"10.1.1.1\",\"dest_ip\":\"")
              .Append(Address(agent, n))
              .Append("\",\"alert\":{\"signature_id\":2000001,\"signature\":\"ET TEST rotation\",\"category\":\"test\",\"severity\":2}}\n");
        }

        using var stream = new FileStream(Path.Combine(agentFolder, "feeds", "eve.json"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    public void Dispose() => _dir.Dispose();
}
