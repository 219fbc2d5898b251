using System.Net;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Console.Tests;

/// <summary>
/// <c>console.loopbackOnly</c>: plain HTTP on loopback without certificates, read-only for everyone; and
/// <c>demo --console</c>, whose three consoles answer while the demo's nations keep running.
/// </summary>
public sealed class LoopbackConsoleTests
{
    [Fact]
    public async Task Loopback_only_console_serves_pages_without_a_certificate_but_refuses_every_action()
    {
        var ct = TestContext.Current.CancellationToken;
        var directory = Directory.CreateTempSubdirectory("cc-lo-").FullName;
        try
        {
            var layout = DevFederation.Create(directory, new DevFederationOptions { BasePort = 0 });
            var node = layout.Nodes[0];
            var config = GatewayConfigFile.Load(node.ConfigPath).Config;
            GatewayConfigFile.Save(node.ConfigPath, config with { Console = new ConsoleConfig { Listen = "127.0.0.1:0", LoopbackOnly = true } });
            await using var gateway = await GatewayNode.StartAsync(node.ConfigPath, new GatewayNodeOptions { ConfigureLogging = l => l.ClearProviders() }, ct);
            Assert.StartsWith("http://127.0.0.1:", gateway.ConsoleUrl, StringComparison.Ordinal);
            using var client = new HttpClient { BaseAddress = new Uri(gateway.ConsoleUrl!) };

            var overview = await client.GetStringAsync("/", ct);
            Assert.Contains(node.Id, overview, StringComparison.Ordinal);
            Assert.Contains(">read-only<", overview, StringComparison.Ordinal);
            // This page's own connection is held in the node's connection budget, which the overview shows.
            Assert.Matches(@"inbound connections</dt><dd[^>]*>[1-9]\d* of [1-9][\d,]* \(0 closed at once at the budget\)", overview);

            var refused = await client.PostAsync("/indicators/ipv4:203.0.113.7/suppress", new FormUrlEncodedContent(new Dictionary<string, string> { ["reason"] = "x" }), ct);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Demo_with_console_keeps_the_nations_running_with_a_console_each_that_answers_its_operator()
    {
        var ct = TestContext.Current.CancellationToken;
        var answered = new List<string>();
        var options = new DemoOptions
        {
            Duration = DemoOptions.MinDuration,
            WhileConsolesRun = async (federation, token) =>
            {
                for (var i = 0; i < federation.Nodes.Count; i++)
                {
                    var node = federation.Layout.Nodes[i];
                    using var certificate = ConsoleFederation.Load(DemoFederation.OperatorCertificate(node, DemoFederation.ConsoleOperator));
                    using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
                    handler.ClientCertificates.Add(certificate);
                    using var client = new HttpClient(handler) { BaseAddress = new Uri(federation.Nodes[i].ConsoleUrl!) };
                    var peers = await client.GetStringAsync("/peers", token);
                    Assert.Contains("connected since", peers, StringComparison.Ordinal);
                    answered.Add(node.TrustDomain);
                }
            },
        };

        var summary = await new DemoRunner(options, new DemoPlainView(TextWriter.Null)).RunAsync(ct);

        Assert.True(summary.Ok, string.Join("; ", summary.Problems));
        Assert.Equal(["ee.cybercoop", "fi.cybercoop", "lv.cybercoop"], answered);
    }
}
