using System.Globalization;
using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Admin;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Audit;
using CyberCoop.Gateway.Cli.Policy;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// The console's pages, rendered on the server from the same services the CLI and the admin socket use
/// (<see cref="NodeStatusReport"/>, the store's audit and indicator reads, <see cref="PolicyDryRun"/>,
/// <see cref="WithdrawalService"/>).
/// </summary>
internal sealed partial class ConsolePages(
    ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, IAuditSink auditSink, AuditLog auditLog, IIndicatorStore indicatorStore,
    ILifecycleStore lifecycleStore, ISightingsStore sightingsStore, NodeMetrics nodeMetrics, ConfigReloader reloader, NodeStatusReport statusReport,
    TimeProvider time, WithdrawalService lifecycle, LiveStreamRegistry streams, ConsoleThroughput throughput)
{
    /// <summary>Audit entries the audit page pages and searches through (the newest).</summary>
    public const int AuditWindow = 10_000;

    /// <summary>Audit rows per page.</summary>
    public const int AuditPageSize = 50;

    /// <summary>Indicators listed by one search at most.</summary>
    public const int SearchLimit = 100;

    private static readonly JsonFormatter s_json = new(JsonFormatter.Settings.Default.WithIndentation());
    private static readonly TimeSpan s_verifyCache = TimeSpan.FromSeconds(30);
    private readonly Lock _verifyGate = new();
    private (DateTimeOffset At, AuditVerifyResult Result, int Keys)? _verified;

    private static readonly (string Href, string Title)[] s_nav =
    [
        ("/", "Overview"), ("/peers", "Peers"), ("/agents", "Agents"), ("/flows", "Flows"),
        ("/audit", "Audit"), ("/policy", "Policy test"), ("/indicators", "Indicators"), ("/trust", "Trust"),
    ];

    /// <summary>The console host's antiforgery service (tokens are bound to the console's own data protection).</summary>
    private static IAntiforgery Antiforgery(HttpContext context) => context.RequestServices.GetRequiredService<IAntiforgery>();

    public async Task<IResult> OverviewAsync(HttpContext context)
    {
        var status = await statusReport.BuildAsync(context.RequestAborted).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var rates = throughput.Rates();
        var html = new ConsoleHtml();
        html.Raw("<section class=\"alarms\"><h2>Alarms</h2>");
        var alarms = Alarms(status).ToList();
        if (alarms.Count == 0)
        {
            html.Element("p", "none", "ok");
        }
        else
        {
            html.Raw("<ul>");
            foreach (var alarm in alarms)
            {
                html.Element("li", alarm, "alarm");
            }

            html.Raw("</ul>");
        }

        html.Raw("</section><section><h2>Node</h2><dl>");
        html.Term("identity", status.Node);
        html.Term("started", ConsoleHtml.Time(status.StartedAt.ToDateTimeOffset()));
        html.Term("uptime", ConsoleHtml.Span(now - status.StartedAt.ToDateTimeOffset()));
        html.Term("TLS certificate until", ConsoleHtml.Time(status.CertificateNotAfter.ToDateTimeOffset()), ExpiryClass(status.CertificateNotAfter.ToDateTimeOffset(), now));
        html.Term("trust bundle", $"sequence {status.TrustBundleSequence}, expires {ConsoleHtml.Time(status.TrustBundleExpiresAt.ToDateTimeOffset())}", ExpiryClass(status.TrustBundleExpiresAt.ToDateTimeOffset(), now));
        var storeDown = status.StoreUnavailable.Length > 0;
        html.Term("indicators stored", storeDown ? "unknown (store unavailable)" : ConsoleHtml.Number(status.IndicatorsStored), storeDown ? "alarm" : null);
        html.Term("sightings ingested / rejected", $"{ConsoleHtml.Number(status.SightingsIngested)} / {ConsoleHtml.Number(status.SightingsRejected)}");
        html.Term("calls denied", ConsoleHtml.Number(status.CallsDenied));
        html.Term("inbound connections", status.ConnectionBudget == 0
                ? $"{ConsoleHtml.Number(status.ConnectionsOpen)} (not bounded: open-file limit unknown)"
                : $"{ConsoleHtml.Number(status.ConnectionsOpen)} of {ConsoleHtml.Number(status.ConnectionBudget)} ({ConsoleHtml.Number(status.ConnectionsRefused)} closed at once at the budget)",
            status.ConnectionBudget != 0 && status.ConnectionsOpen >= status.ConnectionBudget ? "alarm" : null);
        html.Raw("</dl></section><section><h2>Throughput now</h2><dl>");
        var over = rates.Over == TimeSpan.Zero ? "(measuring; reload in a few seconds)" : $"(last {ConsoleHtml.Span(rates.Over)})";
        html.Term("sightings ingested", $"{ConsoleHtml.Number(rates.Ingested, "N1")}/s {over}");
        html.Term("indicators sent to peers", $"{ConsoleHtml.Number(rates.Sent, "N1")}/s");
        html.Term("indicators received from peers", $"{ConsoleHtml.Number(rates.Received, "N1")}/s");
        html.Raw("</dl></section><section><h2>Outbox per peer</h2><table id=\"outbox\">");
        html.HeaderRow("peer", "state", "outbox depth", "oldest waiting");
        html.Raw("<tbody>");
        foreach (var peer in status.Peers)
        {
            html.Raw("<tr>").Cell(peer.Peer).Cell(peer.Connected ? "connected" : "disconnected", peer.Connected ? "ok" : "alarm");
            if (storeDown)
            {
                html.Cell("unknown").Cell("unknown");
            }
            else
            {
                html.Cell((long)peer.OutboxDepth).Cell(peer.OutboxDepth == 0 ? "-" : ConsoleHtml.Span(TimeSpan.FromSeconds(peer.OldestAgeSeconds)));
            }

            html.Raw("</tr>");
        }

        html.Raw("</tbody></table></section>");
        return Page(context, "Overview", html);
    }

    public async Task<IResult> PeersAsync(HttpContext context)
    {
        var status = await statusReport.BuildAsync(context.RequestAborted).ConfigureAwait(false);
        var now = time.GetUtcNow();
        // With the store unavailable (the status says why), the page shows what the node holds in memory.
        var storeDown = status.StoreUnavailable.Length > 0;
        var withheld = storeDown ? null : await WithheldReasonsAsync(context.RequestAborted).ConfigureAwait(false);
        var config = trustSnapshot.Current.Config.Config;
        var html = new ConsoleHtml();
        foreach (var peer in status.Peers)
        {
            var configured = config.Peers.FirstOrDefault(p => p.Id == peer.Peer);
            var domain = SpiffeId.TryParse(peer.Peer, out var id, out _) ? id.TrustDomain : peer.Peer;
            html.Raw("<section class=\"peer\"><h2>").Text(peer.Peer).Raw("</h2><dl>");
            html.Term("address", peer.Address);
            html.Term("state", peer.Connected
                ? $"connected since {ConsoleHtml.Time(peer.ConnectedSince?.ToDateTimeOffset())}"
                : "disconnected" + (peer.LastError.Length > 0 ? ": " + peer.LastError : ""), peer.Connected ? "ok" : "alarm");
            html.Term("suite", peer.Suite.Length == 0 ? "-" : peer.Suite);
            html.Term("last contact (last ack)", ConsoleHtml.Time(peer.LastAck?.ToDateTimeOffset()));
            html.Term("gateway certificate until", streams.CertificateNotAfter(peer.Peer) is { } leaf
                ? $"{ConsoleHtml.Time(leaf)} ({ExpiryText(leaf, now)}; presented on its open stream)"
                : "unknown: no open stream from the peer now", streams.CertificateNotAfter(peer.Peer) is { } expiry ? ExpiryClass(expiry, now) : null);
            foreach (var root in trustSnapshot.Current.RootsOf(domain))
            {
                var until = new DateTimeOffset(root.NotAfter.ToUniversalTime());
                html.Term("root certificate until", $"{ConsoleHtml.Time(until)} ({ExpiryText(until, now)})", ExpiryClass(until, now));
            }

            html.Term("root pin (SPKI SHA-256)", configured?.RootPin ?? "-", "mono");
            html.Term("our trust bundle it holds", peer.BundleSequenceHeld == 0
                ? "none fetched yet"
                : $"sequence {peer.BundleSequenceHeld} (ours is {status.TrustBundleSequence}), fetched {ConsoleHtml.Time(peer.BundleFetchedAt?.ToDateTimeOffset())}",
                peer.BundleSequenceHeld != 0 && peer.BundleSequenceHeld < status.TrustBundleSequence ? "warn" : null);
            html.Term("its trust bundle we hold", peer.PeerBundleSequence == 0 ? "none" : $"sequence {peer.PeerBundleSequence}");
            html.Term("outbox", storeDown ? "unknown (store unavailable)" : $"{peer.OutboxDepth} waiting", storeDown ? "alarm" : null);
            html.Raw("</dl><table class=\"counts\">");
            html.HeaderRow("indicators sent", "indicators received", "withheld by policy", "envelopes sent", "envelopes received", "envelopes rejected");
            html.Raw("<tbody><tr>").Cell((long)peer.IndicatorsSent).Cell((long)peer.IndicatorsReceived).Cell((long)peer.IndicatorsWithheld)
                .Cell((long)peer.EnvelopesSent).Cell((long)peer.EnvelopesReceived).Cell((long)peer.EnvelopesRejected).Raw("</tr></tbody></table>");
            html.Element("h3", $"Withheld, by reason (newest {AuditWindow:N0} audit entries)");
            if (withheld is null)
            {
                html.Element("p", "unknown: the audit log is in the store, which is unavailable", "alarm");
            }
            else if (withheld.TryGetValue(peer.Peer, out var reasons) && reasons.Count > 0)
            {
                html.Raw("<table class=\"reasons\">").HeaderRow("reason", "indicators").Raw("<tbody>");
                foreach (var (reason, count) in reasons.OrderByDescending(r => r.Value))
                {
                    html.Raw("<tr>").Cell(reason).Cell(count).Raw("</tr>");
                }

                html.Raw("</tbody></table>");
            }
            else
            {
                html.Element("p", "none withheld", "muted");
            }

            if (configured is not null)
            {
                ActionForm(html, "/peers/remove", "Remove this peer", "remove-" + domain.Replace('.', '-'), Antiforgery(context).GetAndStoreTokens(context).RequestToken ?? "",
                    ConsoleServer.Caller(context).MayAct, ("peer", configured.Id));
            }

            html.Raw("</section>");
        }

        if (status.Peers.Count == 0)
        {
            html.Element("p", "no peers configured");
        }

        AddPeerForm(html, Antiforgery(context).GetAndStoreTokens(context).RequestToken ?? "", ConsoleServer.Caller(context).MayAct);
        return Page(context, "Peers", html);
    }

    public async Task<IResult> AgentsAsync(HttpContext context)
    {
        var status = await statusReport.BuildAsync(context.RequestAborted).ConfigureAwait(false);
        var html = new ConsoleHtml();
        var now = time.GetUtcNow();
        html.Raw("<table id=\"agents\">").HeaderRow("agent", "first seen", "last seen", "batches", "sightings stored", "sightings rejected", "last error", "trust bundle held", "certificate until").Raw("<tbody>");
        foreach (var agent in status.Agents)
        {
            var certificate = streams.CertificateNotAfter(agent.Agent);
            html.Raw("<tr>").Cell(agent.Agent).Cell(ConsoleHtml.Time(agent.FirstSeen?.ToDateTimeOffset())).Cell(ConsoleHtml.Time(agent.LastSeen?.ToDateTimeOffset()))
                .Cell((long)agent.Batches).Cell((long)agent.SightingsStored).Cell((long)agent.SightingsRejected)
                .Cell(agent.LastError.Length == 0 ? "-" : $"{agent.LastError} ({ConsoleHtml.Time(agent.LastErrorAt?.ToDateTimeOffset())})", agent.LastError.Length == 0 ? null : "alarm")
                .Cell(agent.BundleSequenceHeld == 0 ? "-" : "sequence " + agent.BundleSequenceHeld.ToString(CultureInfo.InvariantCulture))
                .Cell(certificate is { } until ? $"{ConsoleHtml.Time(until)} ({ExpiryText(until, now)})" : "not connected now", certificate is { } at ? ExpiryClass(at, now) : "muted").Raw("</tr>");
        }

        html.Raw("</tbody></table>");
        if (status.Agents.Count == 0)
        {
            html.Element("p", "no agent has connected yet");
        }

        html.Element("p", "Agent certificates are short-lived and renewed by the agent's operator; the node learns an agent only when it calls, and sees its certificate's expiry only while it has a stream open.", "muted");
        return Page(context, "Agents", html);
    }

    public IResult Flows(HttpContext context)
    {
        var html = new ConsoleHtml();
        html.Element("p", "Nations as nodes; each arrow is indicators that flowed between this node and a peer since counting began (sent, received; withheld by policy in brackets). Updated every 2 seconds. Dashed: trusted origins whose content reaches this node only by relay.", "muted");
        html.Raw("<div id=\"flows\" data-source=\"/flows.json\"></div><table id=\"flow-table\"><thead><tr><th>from</th><th>to</th><th>indicators</th></tr></thead><tbody></tbody></table>");
        return Page(context, "Flows", html, ["/assets/cytoscape.min.js", "/assets/flows.js"]);
    }

    public IResult FlowsJson(HttpContext context)
    {
        var self = identitySource.Current.Id.TrustDomain;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("self", self);
            json.WriteStartArray("nations");
            json.WriteStartObject();
            json.WriteString("id", self);
            json.WriteString("role", "self");
            json.WriteEndObject();
            var peers = trustSnapshot.Current.Peers.Values.ToList();
            foreach (var domain in peers.Select(p => p.Id.TrustDomain).Distinct(StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("id", domain);
                json.WriteString("role", "peer");
                json.WriteEndObject();
            }

            foreach (var origin in trustSnapshot.Current.Config.Config.TrustedOrigins.Select(o => o.TrustDomain).Where(d => peers.All(p => p.Id.TrustDomain != d)).Distinct(StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("id", origin);
                json.WriteString("role", "origin");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("flows");
            foreach (var peer in peers)
            {
                var metrics = nodeMetrics.Peer(peer.IdText);
                WriteFlow(json, self, peer.Id.TrustDomain, Interlocked.Read(ref metrics.IndicatorsSent), Interlocked.Read(ref metrics.IndicatorsWithheld));
                WriteFlow(json, peer.Id.TrustDomain, self, Interlocked.Read(ref metrics.IndicatorsReceived), 0);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    public async Task<IResult> AuditAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var query = context.Request.Query["q"].ToString().Trim();
        var kind = context.Request.Query["kind"].ToString().Trim();
        long? before = long.TryParse(context.Request.Query["before"], NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : null;
        long? after = before is null && long.TryParse(context.Request.Query["after"], NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : null;
        var verification = await VerifyAsync(ct).ConfigureAwait(false);
        var total = await auditLog.CountAsync(ct).ConfigureAwait(false);
        var search = new AuditQuery { Text = query, Kind = kind, BeforeSeq = before, AfterSeq = after, Limit = AuditPageSize + 1 };
        var matches = (await auditLog.SearchAsync(search, ct).ConfigureAwait(false)).ToList();
        // One more than a page tells whether there is a page beyond it in the direction walked.
        var more = matches.Count > AuditPageSize;
        if (more)
        {
            matches.RemoveAt(after is null ? matches.Count - 1 : 0);
        }

        if (after is not null && matches.Count == 0)
        {
            // Nothing newer than the cursor any more: show the newest page.
            matches = [.. await auditLog.SearchAsync(search with { AfterSeq = null, Limit = AuditPageSize }, ct).ConfigureAwait(false)];
            after = null;
        }

        var hasOlder = after is null ? more : matches.Count > 0;
        var hasNewer = before is not null || (after is not null && more);
        var html = new ConsoleHtml();
        var (result, keys) = verification;
        html.Raw("<section id=\"chain\">");
        html.Element("p", result.Ok
            ? $"chain OK: {result.EntriesChecked:N0} entries, hash chain intact, {result.CheckpointsVerified} checkpoints; " +
              (result.SignaturesChecked ? $"checkpoint signatures verified with the node's {keys} signing key(s)" : "checkpoint signatures NOT verified (no signing keys)") +
              $"; {result.UncheckpointedEntries} entries after the last checkpoint"
            : $"chain BROKEN at entry seq {result.FirstBadSeq}: {result.Problem}; everything from there on is untrusted",
            result.Ok ? "ok" : "alarm");
        html.Raw("</section><form method=\"get\" action=\"/audit\" class=\"search\"><input type=\"search\" name=\"q\" placeholder=\"search actor, subject, decision, reason\" value=\"").Text(query)
            .Raw("\"><select name=\"kind\"><option value=\"\">any kind</option>");
        foreach (var k in AuditKinds.All.Order(StringComparer.Ordinal))
        {
            html.Raw("<option").Raw(k == kind ? " selected" : "").Raw(">").Text(k).Raw("</option>");
        }

        html.Raw("</select><button type=\"submit\">Search</button></form>");
        html.Element("p", (matches.Count == 0
            ? "no matching entries"
            : $"matching entries seq {matches[0].Seq:N0} down to {matches[^1].Seq:N0}") + $", searched over the whole log ({total:N0} entries)", "muted");
        html.Raw("<table id=\"audit\">").HeaderRow("seq", "time", "kind", "decision", "actor", "subject", "reason").Raw("<tbody>");
        foreach (var entry in matches)
        {
            html.Raw("<tr>").Cell(entry.Seq).Cell(ConsoleHtml.Time(entry.At)).Cell(entry.Kind).Cell(entry.Decision).Cell(entry.Actor, "mono").Cell(entry.Subject, "mono").Cell(entry.Reason).Raw("</tr>");
        }

        html.Raw("</tbody></table><nav class=\"pager\">");
        if (hasNewer)
        {
            html.Link(AuditHref(query, kind, "", ""), "newest", "newest");
            if (matches.Count > 0)
            {
                html.Link(AuditHref(query, kind, "after", matches[0].Seq.ToString(CultureInfo.InvariantCulture)), "newer", "newer");
            }
        }

        if (hasOlder && matches.Count > 0)
        {
            html.Link(AuditHref(query, kind, "before", matches[^1].Seq.ToString(CultureInfo.InvariantCulture)), "older", "older");
        }

        html.Raw("</nav>");
        return Page(context, "Audit", html);
    }

    public IResult Policy(HttpContext context)
    {
        var text = context.Request.Query["indicator"].ToString();
        var html = new ConsoleHtml();
        html.Element("p", "The indicator as JSON, as 'policy test --indicator' takes it: type, value, tlp (default AMBER), confidence (default 50), tags, sectors, sensor, context, description, validUntil. Evaluated against every peer's outbound policy; changes nothing.", "muted");
        html.Raw("<form method=\"get\" action=\"/policy\" class=\"policy\"><textarea name=\"indicator\" rows=\"4\" cols=\"80\" spellcheck=\"false\">")
            .Text(text.Length == 0 ? "{\"type\":\"domain\",\"value\":\"evil.example\",\"tlp\":\"AMBER\",\"confidence\":80,\"tags\":[\"c2\"]}" : text)
            .Raw("</textarea><button type=\"submit\">Test against every peer</button></form>");
        if (text.Length > 0)
        {
            RenderPolicyTest(html, text);
        }

        return Page(context, "Policy test", html);
    }

    public async Task<IResult> IndicatorsAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var query = context.Request.Query["q"].ToString().Trim();
        var html = new ConsoleHtml();
        html.Raw("<form method=\"get\" action=\"/indicators\" class=\"search\"><input type=\"search\" name=\"q\" placeholder=\"start of a value, type:value or id\" value=\"").Text(query)
            .Raw("\"><button type=\"submit\">Search</button></form>");
        var withdrawals = await lifecycleStore.ReadAllWithdrawalsAsync(ct).ConfigureAwait(false);
        var suppressions = await lifecycleStore.ReadSuppressionsAsync(ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var found = new List<(Indicator Indicator, string Status)>();
        foreach (var indicator in await FindIndicatorsAsync(query, ct).ConfigureAwait(false))
        {
            found.Add((indicator, IndicatorStatus.Evaluate(indicator, withdrawals.GetValueOrDefault(indicator.Id), suppressions.GetValueOrDefault(indicator.Id), now).Status));
        }

        html.Element("p", found.Count >= SearchLimit ? $"the first {SearchLimit} matches" : $"{found.Count} match(es)", "muted");
        html.Raw("<table id=\"indicators\">").HeaderRow("type", "value", "TLP", "confidence", "origin", "last seen", "status").Raw("<tbody>");
        foreach (var (indicator, status) in found)
        {
            html.Raw("<tr>").Cell(IndicatorTypeNames.ToName(indicator.Type)).Raw("<td>").Link("/indicators/" + indicator.Id, indicator.Value, "mono").Raw("</td>")
                .Cell(TlpNames.ToName(indicator.Tlp)).Cell(indicator.Confidence).Cell(indicator.OriginDomain.Length == 0 ? identitySource.Current.Id.TrustDomain : indicator.OriginDomain)
                .Cell(ConsoleHtml.Time(indicator.LastSeen?.ToDateTimeOffset())).Cell(status, status == IndicatorStatus.Active ? null : "warn").Raw("</tr>");
        }

        html.Raw("</tbody></table>");
        return Page(context, "Indicators", html);
    }

    public async Task<IResult> IndicatorAsync(HttpContext context, string id)
    {
        var ct = context.RequestAborted;
        id = TryIndicatorId(id);
        var indicator = await indicatorStore.GetIndicatorAsync(id, ct).ConfigureAwait(false)
            ?? throw new ConsoleRefusal(404, $"this node holds no indicator {id}");
        var status = await IndicatorStatus.ReadAsync(lifecycleStore, indicator, time.GetUtcNow(), ct).ConfigureAwait(false);
        var own = await indicatorStore.GetOwnViewAsync(indicator.Id, ct).ConfigureAwait(false);
        var sightings = await sightingsStore.ReadReceivedSightingsAsync(indicator.Id, ct).ConfigureAwait(false);
        var caller = ConsoleServer.Caller(context);
        var html = new ConsoleHtml();
        var done = context.Request.Query["done"].ToString();
        if (done.Length > 0)
        {
            html.Element("p", done, "ok notice");
        }

        html.Raw("<section><dl>");
        html.Term("id", indicator.Id, "mono");
        html.Term("type", IndicatorTypeNames.ToName(indicator.Type));
        html.Term("value", indicator.Value, "mono");
        html.Term("status", status.Status, status.Status == IndicatorStatus.Active ? "ok" : "warn");
        html.Term("TLP", TlpNames.ToName(indicator.Tlp));
        html.Term("confidence", indicator.Confidence.ToString(CultureInfo.InvariantCulture));
        html.Term("first / last seen", $"{ConsoleHtml.Time(indicator.FirstSeen?.ToDateTimeOffset())} / {ConsoleHtml.Time(indicator.LastSeen?.ToDateTimeOffset())}");
        html.Term("valid until", ConsoleHtml.Time(indicator.ValidUntil?.ToDateTimeOffset()));
        html.Term("tags", indicator.Tags.Count == 0 ? "-" : string.Join(", ", indicator.Tags));
        html.Term("sectors", indicator.Sectors.Count == 0 ? "-" : string.Join(", ", indicator.Sectors));
        html.Term("description", indicator.Description.Length == 0 ? "-" : indicator.Description);
        html.Term("provenance", own is not null
            ? $"originated here ({own.Observations.Count} own observation(s))" + (indicator.Observations.Count > own.Observations.Count ? ", also reported by peers" : "")
            : "received from peers; origin " + (indicator.OriginDomain.Length == 0 ? "-" : indicator.OriginDomain));
        html.Raw("</dl></section><section><h2>Observations</h2><table id=\"observations\">")
            .HeaderRow("node", "sensor", "count", "first seen", "last seen", "confidence").Raw("<tbody>");
        foreach (var o in indicator.Observations)
        {
            html.Raw("<tr>").Cell(o.Node, "mono").Cell(o.Sensor.Length == 0 ? "(redacted)" : o.Sensor).Cell(o.Count)
                .Cell(ConsoleHtml.Time(o.FirstSeen?.ToDateTimeOffset())).Cell(ConsoleHtml.Time(o.LastSeen?.ToDateTimeOffset())).Cell(o.Confidence).Raw("</tr>");
        }

        html.Raw("</tbody></table></section><section><h2>Withdrawals</h2>");
        if (status.Withdrawals.Count == 0)
        {
            html.Element("p", "none", "muted");
        }
        else
        {
            html.Raw("<table id=\"withdrawals\">").HeaderRow("origin", "reason", "withdrawn at", "received from").Raw("<tbody>");
            foreach (var w in status.Withdrawals)
            {
                html.Raw("<tr>").Cell(w.Origin, "mono").Cell(w.Reason).Cell(ConsoleHtml.Time(w.WithdrawnAt)).Cell(w.Sender, "mono").Raw("</tr>");
            }

            html.Raw("</tbody></table>");
        }

        if (status.Suppression is { } suppression)
        {
            html.Element("p", $"suppressed here at {ConsoleHtml.Time(suppression.SuppressedAt)}: {suppression.Reason}", "warn");
        }

        html.Raw("</section><section><h2>Sightings reported back by peers</h2>");
        if (sightings.Count == 0)
        {
            html.Element("p", "none", "muted");
        }
        else
        {
            html.Raw("<table id=\"sightings\">").HeaderRow("nation", "reporter", "count", "first seen", "last seen", "sectors", "reports").Raw("<tbody>");
            foreach (var s in sightings)
            {
                html.Raw("<tr>").Cell(SpiffeId.TryParse(s.Reporter, out var reporter, out _) ? reporter.TrustDomain : s.Reporter).Cell(s.Reporter, "mono").Cell(s.Count)
                    .Cell(ConsoleHtml.Time(s.FirstSeen)).Cell(ConsoleHtml.Time(s.LastSeen)).Cell(s.Sectors.Count == 0 ? "-" : string.Join(", ", s.Sectors)).Cell(s.Reports).Raw("</tr>");
            }

            html.Raw("</tbody></table>");
        }

        html.Raw("</section><section class=\"actions\"><h2>Actions</h2>");
        if (!caller.MayAct)
        {
            html.Element("p", $"Your role is {caller.Role}: actions need the role '{Configuration.ConsoleRoles.Operator}' (console.operators in gateway.json).", "muted");
        }

        var token = Antiforgery(context).GetAndStoreTokens(context).RequestToken ?? "";
        if (own is not null && status.Status != IndicatorStatus.Withdrawn)
        {
            ActionForm(html, $"/indicators/{indicator.Id}/withdraw", "Withdraw federation-wide", "withdraw", token, caller.MayAct);
        }

        if (status.Suppression is null)
        {
            ActionForm(html, $"/indicators/{indicator.Id}/suppress", "Suppress on this node", "suppress", token, caller.MayAct);
        }

        html.Raw("</section>");
        return Page(context, indicator.Value, html);
    }

    /// <summary>POST withdraw or suppress: the operator role, a valid CSRF token and a reason; audited with the caller's identity.</summary>
    public async Task<IResult> ActAsync(HttpContext context, string id, string action)
    {
        var caller = ConsoleServer.Caller(context);
        var ct = context.RequestAborted;
        await RequireActionAsync(context, caller, $"{action} {id}").ConfigureAwait(false);

        var form = await context.Request.ReadFormAsync(ct).ConfigureAwait(false);
        var reason = form["reason"].ToString().Trim();
        try
        {
            string done;
            if (action == "withdraw")
            {
                var (_, peers) = await lifecycle.WithdrawAsync(id, reason, caller.Actor, ct).ConfigureAwait(false);
                done = peers.Count == 0 ? "withdrawn; no peer had received it" : "withdrawn; queued to " + string.Join(", ", peers);
            }
            else
            {
                done = await lifecycle.SuppressAsync(id, reason, caller.Actor, ct).ConfigureAwait(false) ? "suppressed on this node" : "was already suppressed";
            }

            return Results.Redirect($"/indicators/{Uri.EscapeDataString(id)}?done={Uri.EscapeDataString(done)}", permanent: false, preserveMethod: false);
        }
        catch (LifecycleRefusedException ex)
        {
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = $"console {action} {id}", Decision = "refused", Reason = ex.Message });
            throw new ConsoleRefusal(ex.Code == Grpc.Core.StatusCode.NotFound ? 404 : 400, ex.Message);
        }
    }

    /// <summary>
    /// POST /peers/remove: as <c>peers remove</c> does (validated atomic edit of gateway.json under its edit lock, then the
    /// node reloads); the operator role and a valid CSRF token required, audited with the operator's identity.
    /// </summary>
    public async Task<IResult> RemovePeerAsync(HttpContext context)
    {
        var caller = ConsoleServer.Caller(context);
        var ct = context.RequestAborted;
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(ct).ConfigureAwait(false) : null;
        var peerId = form?["peer"].ToString() ?? "";
        var reason = form?["reason"].ToString().Trim() ?? "";
        await RequireActionAsync(context, caller, "remove-peer " + peerId).ConfigureAwait(false);
        if (!trustSnapshot.Current.Config.Config.Peers.Any(p => p.Id == peerId))
        {
            throw new ConsoleRefusal(404, $"no peer '{peerId}' is configured");
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        try
        {
            await ConfigEdit.ApplyAsync(CliIo.Capture(output, error), reloader.ConfigPath, c => c with { Peers = [.. c.Peers.Where(p => p.Id != peerId)] }, ct).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console remove-peer " + peerId, Decision = "refused", Reason = ex.Message });
            throw new ConsoleRefusal(400, ex.Message);
        }

        var refused = error.ToString().Trim();
        auditSink.AuditLater(new AuditEntry
        {
            Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console remove-peer " + peerId,
            Decision = refused.Length == 0 ? "applied" : "saved-not-applied", Reason = refused.Length == 0 ? reason : $"{reason}; {refused}",
        });
        var html = new ConsoleHtml();
        html.Element("p", $"removed peer {peerId}", "ok notice").Element("pre", (output + error.ToString()).Trim()).Link("/peers", "back to peers");
        return Page(context, "Peer removed", html);
    }

    /// <summary>The page layout around <paramref name="body"/>.</summary>
    public IResult Page(HttpContext context, string title, ConsoleHtml body, IReadOnlyList<string>? scripts = null, int status = 200)
    {
        var caller = context.Items[ConsoleServer.CallerKey] as ConsoleCaller;
        var html = new ConsoleHtml();
        html.Raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
            .Text(title).Raw(" · ").Text(identitySource.Current.IdText).Raw("</title>")
            // The id tells Cytoscape its container rule is already present (console.css), so it adds no <style> element.
            .Raw("<link rel=\"stylesheet\" id=\"__________cytoscape_stylesheet\" href=\"/assets/console.css\">")
            .Raw("<link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">");
        foreach (var script in scripts ?? [])
        {
            html.Raw("<script src=\"").Text(script).Raw("\" defer></script>");
        }

        html.Raw("</head><body><header><span class=\"brand\">CyberCoop</span> <span class=\"node mono\">").Text(identitySource.Current.IdText).Raw("</span><nav>");
        var path = context.Request.Path.Value ?? "/";
        foreach (var (href, name) in s_nav)
        {
            var active = href == "/" ? path == "/" : path.StartsWith(href, StringComparison.Ordinal);
            html.Link(href, name, active ? "active" : null);
        }

        html.Raw("</nav><span class=\"who\">");
        if (caller is not null)
        {
            html.Text(caller.Id).Raw(" · ").Element("span", caller.Role, caller.MayAct ? "role operator" : "role");
        }

        html.Raw("</span></header><main>").Element("h1", title).Raw(body.ToString()).Raw("</main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", statusCode: status);
    }

    private void RenderPolicyTest(ConsoleHtml html, string text)
    {
        Sighting sighting;
        try
        {
            sighting = IndicatorArgument.Parse(text);
        }
        catch (CliException ex)
        {
            html.Element("p", ex.Message, "alarm error");
            return;
        }

        var now = time.GetUtcNow();
        var (normalized, error) = PolicyDryRun.Normalize(sighting, identitySource.Current.IdText, time);
        if (normalized is null)
        {
            html.Element("p", "the node would reject this indicator on ingest: " + error, "alarm error");
            return;
        }

        html.Element("p", $"{IndicatorTypeNames.ToName(normalized.Type)} {normalized.Value} (TLP {TlpNames.ToName(normalized.Tlp)}, confidence {normalized.Confidence}), id {normalized.Id}", "mono");
        foreach (var peer in trustSnapshot.Current.Config.Config.Peers)
        {
            var decision = PolicyDryRun.Evaluate(normalized, peer, now);
            html.Raw("<section class=\"decision\"><h2>").Text(peer.Id).Raw("</h2>");
            html.Element("p", "decision   " + PolicyDryRun.Summary(decision), decision.Shared ? "verdict ok" : "verdict alarm");
            html.Raw("<table class=\"rules\">").HeaderRow("", "rule", "detail").Raw("<tbody>");
            foreach (var rule in decision.Rules)
            {
                html.Raw("<tr>").Cell(rule.Passed ? "pass" : "FAIL", rule.Passed ? "ok" : "alarm").Cell(rule.Code, "mono").Cell(rule.Detail).Raw("</tr>");
            }

            html.Raw("</tbody></table>");
            if (decision.Redacted is not null)
            {
                html.Element("h3", "the peer would receive").Element("pre", s_json.Format(decision.Redacted));
            }

            html.Raw("</section>");
        }
    }

    /// <summary>Refuses (403, audited) a caller without the operator role and (400, audited) a missing or foreign CSRF token.</summary>
    private async Task RequireActionAsync(HttpContext context, ConsoleCaller caller, string what)
    {
        if (!caller.MayAct)
        {
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console " + what, Decision = "refused", Reason = $"role {caller.Role} may not act" });
            throw new ConsoleRefusal(403, $"{caller.Id} has the role '{caller.Role}'; {what.Split(' ')[0]} needs the role '{Configuration.ConsoleRoles.Operator}'");
        }

        try
        {
            await Antiforgery(context).ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console " + what, Decision = "refused", Reason = "missing or invalid CSRF token" });
            throw new ConsoleRefusal(400, "missing or invalid CSRF token: reload the page and try again");
        }
    }

    private static void ActionForm(ConsoleHtml html, string action, string label, string name, string token, bool enabled, (string Name, string Value)? hidden = null)
    {
        html.Raw("<form method=\"post\" class=\"action\" id=\"").Text(name).Raw("\" action=\"").Text(action).Raw("\"><input type=\"hidden\" name=\"").Text(ConsoleServer.CsrfField).Raw("\" value=\"").Text(token)
            .Raw("\">");
        if (hidden is { } field)
        {
            html.Raw("<input type=\"hidden\" name=\"").Text(field.Name).Raw("\" value=\"").Text(field.Value).Raw("\">");
        }

        html.Raw("<input type=\"text\" name=\"reason\" required maxlength=\"500\" placeholder=\"reason (audited)\" aria-label=\"").Text(name).Raw(" reason\"><button type=\"submit\" name=\"do\" value=\"")
            .Text(name).Raw("\"").Raw(enabled ? "" : " disabled").Raw(">").Text(label).Raw("</button></form>");
    }

    private async Task<(AuditVerifyResult Result, int Keys)> VerifyAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        lock (_verifyGate)
        {
            if (_verified is { } cached && now - cached.At < s_verifyCache)
            {
                return (cached.Result, cached.Keys);
            }
        }

        // As 'audit verify' does: the chain, and the checkpoints' signatures with the node's signing keys.
        var loaded = trustSnapshot.Current.Config;
        using var keys = CheckpointKeys.Load(loaded.Resolve(loaded.Config.Node.KeysDirectory));
        var result = await auditLog.VerifyAsync(keys.Count == 0 ? null : keys.Verify, ct).ConfigureAwait(false);
        lock (_verifyGate)
        {
            _verified = (now, result, keys.Count);
        }

        return (result, keys.Count);
    }

    private async Task<Dictionary<string, Dictionary<string, long>>> WithheldReasonsAsync(CancellationToken ct)
    {
        var byPeer = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        await foreach (var entry in auditLog.TailAsync(AuditWindow, ct).ConfigureAwait(false))
        {
            if (entry.Kind != AuditKinds.Withheld || entry.Decision != "withheld")
            {
                continue;
            }

            var reasons = byPeer.TryGetValue(entry.Subject, out var found) ? found : byPeer[entry.Subject] = new(StringComparer.Ordinal);
            reasons[entry.Reason] = reasons.GetValueOrDefault(entry.Reason) + CountIndicators(entry.DetailsJson);
        }

        return byPeer;
    }

    private static long CountIndicators(string detailsJson)
    {
        try
        {
            using var document = JsonDocument.Parse(detailsJson);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Array)
                {
                    return property.Value.GetArrayLength();
                }
            }
        }
        catch (JsonException)
        {
        }

        return 1;
    }

    private IEnumerable<string> Alarms(NodeStatus status)
    {
        if (status.StoreUnavailable.Length > 0)
        {
            var since = status.StoreUnavailableSince?.ToDateTimeOffset();
            yield return "the store is UNAVAILABLE" + (since is { } at ? $" since {ConsoleHtml.Time(at)} ({ConsoleHtml.Span(time.GetUtcNow() - at)} ago)" : "") +
                $": {status.StoreUnavailable}; ingest and peers' envelopes are refused (nothing is lost: senders keep them and send again), and the counts read from the store are unknown until it is back";
        }

        foreach (var warning in status.Warnings)
        {
            yield return warning;
        }

        foreach (var peer in status.Peers.Where(p => !p.Connected))
        {
            yield return $"peer {peer.Peer} is disconnected" + (peer.LastError.Length > 0 ? ": " + peer.LastError : "");
        }

        foreach (var peer in status.Peers.Where(p => p.OldestAgeSeconds > 300))
        {
            yield return $"the outbox to {peer.Peer} holds {peer.OutboxDepth} envelope(s), the oldest waiting {ConsoleHtml.Span(TimeSpan.FromSeconds(peer.OldestAgeSeconds))}";
        }

        if (auditSink.AuditDropped > 0)
        {
            yield return $"{auditSink.AuditDropped} audit entries could not be written";
        }
    }

    private static void WriteFlow(Utf8JsonWriter json, string from, string to, long indicators, long withheld)
    {
        json.WriteStartObject();
        json.WriteString("from", from);
        json.WriteString("to", to);
        json.WriteNumber("indicators", indicators);
        json.WriteNumber("withheld", withheld);
        json.WriteEndObject();
    }

    private static bool Matches(AuditEntry entry, string query) =>
        entry.Actor.Contains(query, StringComparison.OrdinalIgnoreCase) || entry.Subject.Contains(query, StringComparison.OrdinalIgnoreCase)
        || entry.Decision.Contains(query, StringComparison.OrdinalIgnoreCase) || entry.Reason.Contains(query, StringComparison.OrdinalIgnoreCase)
        || entry.Kind.Contains(query, StringComparison.OrdinalIgnoreCase);

    private static string AuditHref(string query, string kind, string cursor, string seq) =>
        $"/audit?q={Uri.EscapeDataString(query)}&kind={Uri.EscapeDataString(kind)}" + (cursor.Length == 0 ? "" : $"&{cursor}={seq}");

    /// <summary>
    /// The indicators a search names: the one with that id or type:value (a key lookup), else those whose value starts
    /// with the query (as typed, then lower-cased: values of most types are stored lower-case) along the value index.
    /// </summary>
    private async Task<IReadOnlyList<Indicator>> FindIndicatorsAsync(string query, CancellationToken ct)
    {
        if (query.Length > 0 && TryParseIndicator(query, out var id))
        {
            return await indicatorStore.GetIndicatorAsync(id, ct).ConfigureAwait(false) is { } exact ? [exact] : [];
        }

        var found = await indicatorStore.SearchIndicatorsByValueAsync(query, SearchLimit, ct).ConfigureAwait(false);
        var lower = query.ToLowerInvariant();
        return found.Count == 0 && lower != query ? await indicatorStore.SearchIndicatorsByValueAsync(lower, SearchLimit, ct).ConfigureAwait(false) : found;
    }

    /// <summary>The id <c>indicators show</c> would look up for <paramref name="query"/> (UUID or type:value), else the query itself.</summary>
    private static string TryIndicatorId(string query) => TryParseIndicator(query, out var id) ? id : query;

    private static bool TryParseIndicator(string query, out string id)
    {
        try
        {
            id = IndicatorLifecycleCommands.ParseIndicator(query);
            return true;
        }
        catch (CliException)
        {
            id = query;
            return false;
        }
    }

    private static string ExpiryText(DateTimeOffset until, DateTimeOffset now) =>
        until <= now ? "EXPIRED" : "in " + ConsoleHtml.Span(until - now);

    private static string? ExpiryClass(DateTimeOffset until, DateTimeOffset now) =>
        until - now <= TimeSpan.FromDays(7) ? "alarm" : until - now <= TimeSpan.FromDays(30) ? "warn" : null;
}
