using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Agent.Tests.Delivery;

/// <summary>
/// The domain's root rotated end to end as docs/operator-guide.md §10 says, with a real gateway on loopback (Kestrel,
/// mTLS, SQLite) and real agent processes sending under load: agents follow the rotation through the trust bundle their
/// gateway serves (signed by the root they hold), nobody edits an agent by hand, and every detection is stored exactly once.
/// </summary>
public sealed class RootRotationTests : IDisposable
{
    private const string Domain = "ee.cybercoop";
    private const string GatewayId = "spiffe://ee.cybercoop/gateway/tallinn";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    private readonly GuideDomain _domain = new(Domain, "tallinn");

    public void Dispose() => _domain.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string P(params string[] parts) => _domain.P(parts);

    private Task SetUpGatewayAsync(string caDir) => _domain.SetUpGatewayAsync(caDir);

    private Task<string> SetUpAgentAsync(string name, string caDir = "ca", string? pinnedCa = null) => _domain.SetUpAgentAsync(name, caDir, pinnedCa);

    private static string Address(int agent, int n) => GuideDomain.Address(agent, n);

    private static void WriteEve(string agentFolder, int agent, int from, int count) => GuideDomain.WriteEve(agentFolder, agent, from, count);

    [Fact]
    public async Task Agent_refuses_a_trust_bundle_signed_by_a_root_it_does_not_hold_and_sends_nothing()
    {
        // The agent pins the real ee root; the gateway it is pointed at belongs to a rogue ee root (and even accepts the
        // agent, whose certificate the rogue root issued), so it reaches GetTrustBundle and is served the rogue's bundle.
        await GatewayCli.MustAsync("certs", "init-domain", "--domain", Domain, "--out", P("ca"));
        await GatewayCli.MustAsync("certs", "init-domain", "--domain", Domain, "--out", P("rogue"));
        await SetUpGatewayAsync("rogue");
        var agent = await SetUpAgentAsync("grid", caDir: "rogue", pinnedCa: "ca");
        WriteEve(agent, 0, 0, 50);
        await using var gateway = await GatewayCli.StartAsync(P("node", "gateway.json"), Ct);

        await using var host = AgentHost.Start(Path.Combine(agent, "agent.json"));

        await Eventually.TrueAsync(() => host.Output.Contains("Refused the trust bundle served by", StringComparison.Ordinal), s_timeout, () => host.Output);
        Assert.Contains("not signed by a root trusted for ee.cybercoop", host.Output, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => host.Output.Contains("Cannot reach gateway", StringComparison.Ordinal), s_timeout, () => host.Output);
        Assert.Equal(0, await gateway.Runtime.Store.CountIndicatorsAsync(Ct));
        Assert.False(File.Exists(Path.Combine(agent, "agent-state.trust-bundle.json")));
    }

    [Fact]
    public async Task Root_rotated_as_the_guide_says_while_agents_send_loses_nothing_and_needs_no_hand_edit()
    {
        await GatewayCli.MustAsync("certs", "init-domain", "--domain", Domain, "--out", P("ca"));
        await SetUpGatewayAsync("ca");
        // A short refresh hint so agents pick up each new bundle within a second (the default is 300 s).
        await GatewayCli.MustAsync("certs", "bundle", "sign", "--ca-dir", P("ca"), "--refresh-seconds", "1", "--config", P("node", "gateway.json"));
        string[] agents = [await SetUpAgentAsync("a0"), await SetUpAgentAsync("a1"), await SetUpAgentAsync("a2")];
        var configs = agents.Select(a => File.ReadAllBytes(Path.Combine(a, "agent.json"))).ToArray();
        using var oldRoot = PemFiles.LoadCertificate(P("ca", "root.crt"));
        var oldPin = SpkiPin.Compute(oldRoot);

        var gateway = await GatewayCli.StartAsync(P("node", "gateway.json"), Ct);
        var hosts = agents.Select(a => AgentHost.Start(Path.Combine(a, "agent.json"))).ToArray();
        using var stopWriting = new CancellationTokenSource();
        var written = new int[agents.Length];
        var writers = agents.Select((a, i) => Task.Run(async () =>
        {
            while (!stopWriting.IsCancellationRequested && written[i] < 30_000)
            {
                WriteEve(a, i, written[i], 20);
                written[i] += 20;
                await Task.Delay(20, CancellationToken.None);
            }
        })).ToArray();
        try
        {
            var activity = gateway.Runtime.Activity;
            await Eventually.TrueAsync(() => AllHold(activity, 2) && hosts.All(h => h.Output.Contains("reachable", StringComparison.Ordinal)), s_timeout, () => Logs(hosts));
            await Eventually.TrueAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) >= 300, s_timeout);

            // a2 is down during the rotation: it still holds sequence 2 (old root only) when it comes back.
            await hosts[2].TerminateAsync();

            // §10 step 1: rotate the root; the gateway serves the bundle listing both roots, signed by both.
            await GatewayCli.MustAsync("certs", "rotate-root", "--ca-dir", P("ca"), "--config", P("node", "gateway.json"));
            // Step 2: wait until every agent that runs has it (status shows the sequence each holds).
            await Eventually.TrueAsync(() => Holds(activity, "a0", 3) && Holds(activity, "a1", 3), s_timeout, () => Logs(hosts));

            // Step 3: the gateway's certificate from the new root, swapped in by the running node.
            await GatewayCli.MustAsync("certs", "renew", "--ca-dir", P("ca"), "--cert", P("node", "tallinn.crt"), "--new-key", "--config", P("node", "gateway.json"));
            Assert.False(new ChainValidator([TrustAnchor.FromRoot(oldRoot)]).Validate(gateway.Runtime.Identity.Certificate, null, CertificatePurpose.Server).IsValid);

            // a1 reconnects from scratch and meets the new-root certificate; a2 comes back holding only the old root.
            await hosts[1].TerminateAsync();
            hosts[1] = AgentHost.Start(Path.Combine(agents[1], "agent.json"));
            hosts[2] = AgentHost.Start(Path.Combine(agents[2], "agent.json"));
            await Eventually.TrueAsync(() => Holds(activity, "a2", 3), s_timeout, () => Logs(hosts));
            Assert.Contains("does not trust yet; fetching the domain's trust bundle", hosts[2].Output, StringComparison.Ordinal);
            Assert.Contains("Accepted trust bundle sequence 3", hosts[2].Output, StringComparison.Ordinal);
            var before = activity.Rows[Id("a1")].SightingsStored + activity.Rows[Id("a2")].SightingsStored;
            await Eventually.TrueAsync(() => activity.Rows[Id("a1")].SightingsStored + activity.Rows[Id("a2")].SightingsStored > before + 200, s_timeout, () => Logs(hosts));

            // Rest of step 3: agents' certificates from the new root (loaded when each restarts), the new root as tls.root.
            foreach (var (agent, i) in agents.Select((a, i) => (a, i)))
            {
                await GatewayCli.MustAsync("certs", "renew", "--ca-dir", P("ca"), "--cert", Path.Combine(agent, $"a{i}.crt"), "--new-key");
                await hosts[i].TerminateAsync();
                hosts[i] = AgentHost.Start(Path.Combine(agent, "agent.json"));
            }

            File.Copy(P("ca", "root.crt"), P("node", "root.crt"), overwrite: true);

            // Step 4: drop the old root, signed by the new root alone.
            await GatewayCli.MustAsync("certs", "bundle", "sign", "--ca-dir", P("ca"), "--drop-root", oldPin, "--config", P("node", "gateway.json"));
            await Eventually.TrueAsync(() => AllHold(activity, 4), s_timeout, () => Logs(hosts));

            // An agent restarted after the drop trusts the new root only, from its state folder.
            await hosts[0].TerminateAsync();
            hosts[0] = AgentHost.Start(Path.Combine(agents[0], "agent.json"));
            await Eventually.TrueAsync(() => hosts[0].Output.Contains("Trust bundle sequence 4 restored", StringComparison.Ordinal), s_timeout, () => hosts[0].Output);

            await stopWriting.CancelAsync();
            await Task.WhenAll(writers);
            var total = written.Sum();
            await Eventually.TrueAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) >= total, s_timeout, () => Logs(hosts));

            File.WriteAllText(Path.Combine(Path.GetTempPath(), "rotation-test-agents.log"), Logs(hosts));
            await AssertStoredExactlyOnceAsync(gateway, written);
            for (var i = 0; i < agents.Length; i++)
            {
                Assert.Equal(configs[i], File.ReadAllBytes(Path.Combine(agents[i], "agent.json")));
                Assert.Equal(written[i], activity.Rows[Id($"a{i}")].SightingsStored);
            }

            var status = await GatewayCli.MustAsync("status", "--config", P("node", "gateway.json"));
            foreach (var i in Enumerable.Range(0, agents.Length))
            {
                Assert.Matches($@"{Id($"a{i}")}\s+\S+ ago\s+\d+\s+{written[i]}\s+0\s+4\s", status);
            }
        }
        finally
        {
            await stopWriting.CancelAsync();
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }

            await gateway.DisposeAsync();
        }
    }

    private static string Id(string agent) => $"spiffe://{Domain}/agent/{agent}";

    private static bool Holds(CallerActivity activity, string agent, ulong sequence) =>
        activity.Rows.TryGetValue(Id(agent), out var row) && row.BundleSequence == sequence;

    private static bool AllHold(CallerActivity activity, ulong sequence) =>
        Holds(activity, "a0", sequence) && Holds(activity, "a1", sequence) && Holds(activity, "a2", sequence);

    private static string Logs(IEnumerable<ChildProcess> hosts) => string.Join("\n-----\n", hosts.Select(h => h.Output));

    private static async Task AssertStoredExactlyOnceAsync(GatewayNode gateway, int[] written)
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (var agent = 0; agent < written.Length; agent++)
        {
            for (var n = 0; n < written[agent]; n++)
            {
                expected.Add(Address(agent, n));
            }
        }

        var values = new HashSet<string>(StringComparer.Ordinal);
        var twice = new List<string>();
        await foreach (var indicator in gateway.Runtime.Store.ReadAllIndicatorsAsync(Ct))
        {
            var observation = Assert.Single(indicator.Observations);
            if (observation.Count != 1 || !values.Add(indicator.Value))
            {
                twice.Add($"{indicator.Value} x{observation.Count} ({observation.Sensor})");
            }

            values.Add(indicator.Value);
        }

        Assert.True(twice.Count == 0, $"{twice.Count} sighting(s) stored more than once: {string.Join(", ", twice.Take(20))}");

        Assert.Equal(expected, values);
    }
}
