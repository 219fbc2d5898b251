using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Tests.Cli;

namespace CyberCoop.Gateway.Tests.Demo;

/// <summary>The demo, run as a user runs it (plain output, JSON summary), tells the truth about what the nodes did.</summary>
public sealed class DemoCommandTests(DemoRunFixture run) : IClassFixture<DemoRunFixture>
{
    private static readonly string[] Domains = ["ee.cybercoop", "fi.cybercoop", "lv.cybercoop"];

    [Fact]
    public void Demo_exits_zero_with_an_ok_summary_and_no_problems()
    {
        Assert.True(run.Result.ExitCode == 0, run.Result.ToString());
        Assert.True(run.Summary.Ok, string.Join("; ", run.Summary.Problems));
        Assert.Empty(run.Summary.Problems);
        Assert.Equal(["EE", "FI", "LV"], run.Summary.Nations.Select(n => n.Nation));
        Assert.Contains("hostile moment", run.Result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_nation_ingested_from_its_agents_and_sent_and_received()
    {
        foreach (var nation in run.Summary.Nations)
        {
            Assert.True(nation.Agents >= 2, $"{nation.Nation} has {nation.Agents} agents");
            Assert.True(nation.Ingested > 0, $"{nation.Nation} ingested nothing");
            Assert.True(nation.Shared > 0, $"{nation.Nation} shared nothing");
            Assert.True(nation.Received > 0, $"{nation.Nation} received nothing");
        }

        Assert.All(run.Summary.Flows, f => Assert.True(f.Indicators > 0, $"nothing flowed {f.From} -> {f.To}"));
        Assert.Equal(4, run.Summary.Flows.Count);
    }

    [Fact]
    public void Policies_withheld_by_reason_and_relayed_only_green_through_finland()
    {
        var decisions = run.Summary.Decisions;

        Assert.True(decisions.GetValueOrDefault("withheld:tlp-above-ceiling") > 0);
        Assert.True(decisions.GetValueOrDefault("withheld:type-not-allowed") > 0);
        Assert.True(decisions.GetValueOrDefault("withheld:blocked-tag") > 0);
        Assert.True(decisions.GetValueOrDefault("relay-withheld:tlp-too-high") > 0);
        Assert.True(decisions.GetValueOrDefault("relayed") > 0);
        Assert.True(decisions.GetValueOrDefault("ingest-rejected") > 0);
        Assert.Equal(0, run.Summary.Nations.Single(n => n.Nation == "EE").Relayed);
        Assert.True(run.Summary.Nations.Single(n => n.Nation == "FI").Relayed > 0);
    }

    [Fact]
    public async Task Withdrawn_false_positive_reaches_finland_directly_and_latvia_by_relay_and_sightings_flow_back_to_estonia_also_from_latvia_through_finland()
    {
        var lifecycle = run.Summary.Lifecycle;

        Assert.NotNull(lifecycle);
        Assert.Equal("EE", lifecycle.Origin);
        Assert.Equal(["FI from EE", "LV from FI (relay)"], lifecycle.WithdrawnAt);
        Assert.Equal(2, lifecycle.SightingsBack.Count);
        Assert.StartsWith("FI: ", lifecycle.SightingsBack[0], StringComparison.Ordinal);
        Assert.Matches("^LV: [0-9]+ sightings \\(relayed back by FI\\)$", lifecycle.SightingsBack[1]);
        var id = IndicatorIds.Compute(DemoLifecycle.FalsePositive.Type, DemoLifecycle.FalsePositive.Value);
        for (var i = 0; i < Domains.Length; i++)
        {
            await using var store = await OpenStoreAsync(Domains[i]);
            var withdrawal = Assert.Single(await store.ReadWithdrawalsAsync(id, TestContext.Current.CancellationToken));
            Assert.Equal("spiffe://ee.cybercoop/gateway/tallinn", withdrawal.Origin);
            Assert.NotNull(await store.GetIndicatorAsync(id, TestContext.Current.CancellationToken)); // kept for audit
        }

        await using var origin = await OpenStoreAsync(Domains[0]);
        var reported = await origin.ReadReceivedSightingsAsync(id, TestContext.Current.CancellationToken);
        Assert.Equal(["spiffe://fi.cybercoop/gateway/helsinki", "spiffe://lv.cybercoop/gateway/riga"], reported.Select(s => s.Reporter));
        Assert.All(reported, s => Assert.True(s.Count >= 1));
        Assert.All(reported, s => Assert.Equal(1, s.Reports));
        Assert.Contains("\"lifecycle\"", run.Result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Finland_serves_what_it_holds_as_a_stix_bundle_a_taxii_pull_by_an_analyst_and_a_misp_feed()
    {
        var interop = run.Summary.Interop;

        Assert.NotNull(interop);
        Assert.Equal("FI", interop.Nation);

        // The STIX bundle on disk holds the objects the summary counts.
        using var bundle = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run.Directory, interop.StixFile)));
        var objects = bundle.RootElement.GetProperty("objects").EnumerateArray().ToList();
        string[] counted = ["indicator", "vulnerability", "sighting"];
        Assert.Equal(interop.StixObjects, objects.Count(o => counted.Contains(o.GetProperty("type").GetString())));
        Assert.True(interop.StixObjects > 0);

        // The TAXII "All received" collection is what Finland holds from other origins: the bundle's indicator and
        // vulnerability objects not created by Finland, with their origins' identities and their TLP markings, every
        // one of them, paged 10 at a time.
        var finland = CyberCoop.Gateway.Interop.Stix.StixExporter.Identity("fi.cybercoop").Id;
        var received = objects.Where(o => o.GetProperty("type").GetString() is "indicator" or "vulnerability" && o.GetProperty("created_by_ref").GetString() != finland).ToList();
        var identities = received.Select(o => o.GetProperty("created_by_ref").GetString()).Distinct().Count();
        var markings = received.SelectMany(o => o.GetProperty("object_marking_refs").EnumerateArray().Select(m => m.GetString())).Distinct().Count();
        var expected = received.Count + identities + markings;
        Assert.True(received.Count > 10, $"only {received.Count} received objects: the pull would not page");
        Assert.Equal(expected, interop.TaxiiObjects);
        Assert.Equal((expected + 9) / 10, interop.TaxiiPages);

        // The MISP feed folder: a manifest naming every event file, with the attributes counted.
        var folder = Path.Combine(run.Directory, interop.MispFolder);
        using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "manifest.json")));
        var events = manifest.RootElement.EnumerateObject().Select(e => e.Name).ToList();
        Assert.Equal(interop.MispEvents, events.Count);
        var attributes = 0;
        foreach (var uuid in events)
        {
            using var evt = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, uuid + ".json")));
            attributes += evt.RootElement.GetProperty("Event").GetProperty("Attribute").GetArrayLength();
        }

        Assert.Equal(interop.MispAttributes, attributes);

        // One line of each in the run's output.
        Assert.Contains("STIX 2.1 export: " + interop.StixObjects + " objects", run.Result.Error, StringComparison.Ordinal);
        Assert.Contains("TAXII 2.1: analyst demo-analyst (certificate) pulled " + interop.TaxiiObjects + " objects", run.Result.Error, StringComparison.Ordinal);
        Assert.Contains("MISP feed export: " + interop.MispEvents + " events", run.Result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Red_kept_at_home_equals_red_ingested_and_no_red_indicator_is_in_another_nations_database()
    {
        var nations = run.Summary.Nations;
        Assert.All(nations, n => Assert.True(n.RedIngested > 0, $"{n.Nation} ingested no RED"));
        Assert.All(nations, n => Assert.Equal(n.RedIngested, n.RedKeptHome));

        var redByNation = DemoSample.All()
            .Where(x => x.Detection.Tlp == Tlp.Red)
            .Select(x => (x.Nation, Id: IndicatorIds.Compute(x.Detection.Type, IndicatorNormalizer.Normalize(x.Detection.Type, x.Detection.Value).Value)))
            .ToList();
        for (var i = 0; i < Domains.Length; i++)
        {
            await using var store = await OpenStoreAsync(Domains[i]);
            foreach (var (nation, id) in redByNation)
            {
                var stored = await store.GetIndicatorAsync(id, TestContext.Current.CancellationToken);
                if (nation == i)
                {
                    Assert.NotNull(stored);
                    Assert.Equal(Tlp.Red, stored.Tlp);
                }
                else
                {
                    Assert.Null(stored);
                }
            }
        }
    }

    [Fact]
    public async Task Every_hostile_attempt_was_refused_nothing_forged_was_stored_and_refusals_are_in_the_audit_log()
    {
        var hostile = run.Summary.Hostile;
        Assert.Equal(["replay", "forged-signature", "tampered-header", "unpinned-node", "forged-trust-bundle"], hostile.Select(h => h.Attempt));
        Assert.All(hostile, h => Assert.True(h.Refused, $"{h.Attempt}: {h.Outcome}"));
        Assert.All(hostile.Where(h => h.Attempt != "replay"), h => Assert.True(h.Audited, $"{h.Attempt} not audited"));
        Assert.Contains("DUPLICATE", hostile[0].Outcome, StringComparison.Ordinal);

        await using var fi = await OpenStoreAsync("fi.cybercoop");
        var audit = await ReadAuditAsync(fi);
        Assert.Contains(audit, e => e.Kind == AuditKinds.Rejected && e.Reason.StartsWith("bad-signature", StringComparison.Ordinal));
        Assert.Contains(audit, e => e.Kind == AuditKinds.Rejected && e.Reason.StartsWith("decrypt-failed", StringComparison.Ordinal));
        Assert.Contains(audit, e => e.Kind == AuditKinds.Denied && e.Subject == "/cybercoop.v1.Federation/Exchange" && e.Actor.Contains("rogue.cybercoop", StringComparison.Ordinal));
        await foreach (var indicator in fi.ReadAllIndicatorsAsync(TestContext.Current.CancellationToken))
        {
            Assert.DoesNotContain("forged-", indicator.Value, StringComparison.Ordinal);
            Assert.DoesNotContain("tampered-", indicator.Value, StringComparison.Ordinal);
        }

        var verify = await fi.Audit.VerifyAsync(null, TestContext.Current.CancellationToken);
        Assert.True(verify.Ok, verify.ToString());
    }

    [Fact]
    public async Task Summary_counts_match_the_nodes_databases_and_audit_logs()
    {
        for (var i = 0; i < Domains.Length; i++)
        {
            var nation = run.Summary.Nations[i];
            await using var store = await OpenStoreAsync(Domains[i]);
            var audit = await ReadAuditAsync(store);

            Assert.Equal(nation.Stored, await store.CountIndicatorsAsync(TestContext.Current.CancellationToken));
            Assert.Equal(nation.Received, audit.Where(e => e.Kind == AuditKinds.Received && e.Decision == "accepted").Sum(IndicatorCount));
            Assert.Equal(nation.IngestRejected, audit.Count(e => e.Kind == AuditKinds.IngestRejected));
            Assert.Equal(nation.Relayed, audit.Count(e => e.Kind == AuditKinds.Shared && e.Decision == "relayed"));
        }

        // What a sender counts as delivered is what the receiver accepted from it (plus the replay probe's first copy at FI).
        foreach (var flow in run.Summary.Flows)
        {
            await using var receiver = await OpenStoreAsync(flow.To.ToLowerInvariant() + ".cybercoop");
            var audit = await ReadAuditAsync(receiver);
            var accepted = audit
                .Where(e => e.Kind == AuditKinds.Received && e.Decision == "accepted" && e.Actor.StartsWith("spiffe://" + flow.From.ToLowerInvariant() + ".", StringComparison.Ordinal))
                .Sum(IndicatorCount);
            var probe = flow is { From: "EE", To: "FI" } ? 1 : 0;
            Assert.Equal(flow.Indicators + probe, accepted);
        }
    }

    [Fact]
    public async Task Demo_without_keep_removes_what_it_made_and_frees_its_ports()
    {
        using var directory = new TempDirectory();

        var result = await CliRun.RunAsync("demo", "--no-live", "--dir", directory.Path, "--duration", "3");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Summary", result.Output, StringComparison.Ordinal);
        Assert.Contains("OK: every nation shared and received", result.Output, StringComparison.Ordinal);
        Assert.Empty(System.IO.Directory.EnumerateFileSystemEntries(directory.Path));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("100000")]
    [InlineData("soon")]
    public async Task Demo_refuses_a_duration_out_of_range_as_a_usage_error(string duration)
    {
        var result = await CliRun.RunAsync("demo", "--no-live", "--duration", duration);

        Assert.Equal(2, result.ExitCode);
    }

    private async Task<GatewayStore> OpenStoreAsync(string domain) =>
        await GatewayStore.OpenAsync(Path.Combine(run.Directory, domain, "gateway.db"), TimeProvider.System, TestContext.Current.CancellationToken);

    /// <summary>Indicators listed in an entry's details (the receiver writes one "received" entry per bundle).</summary>
    private static int IndicatorCount(AuditEntry entry)
    {
        using var details = System.Text.Json.JsonDocument.Parse(entry.DetailsJson);
        return details.RootElement.TryGetProperty("indicators", out var ids) ? ids.GetArrayLength() : 0;
    }

    private static async Task<List<AuditEntry>> ReadAuditAsync(GatewayStore store)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.Audit.TailAsync(1_000_000, TestContext.Current.CancellationToken))
        {
            entries.Add(entry);
        }

        return entries;
    }
}
