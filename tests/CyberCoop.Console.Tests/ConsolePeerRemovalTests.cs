using System.Net;
using System.Text.RegularExpressions;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Demo;

namespace CyberCoop.Console.Tests;

/// <summary>
/// Removing a peer from the console: refused to a read-only operator (audited), done for an operator as
/// <c>peers remove</c> does (gateway.json edited, the running node reloaded), audited with the operator's identity.
/// </summary>
public sealed partial class ConsolePeerRemovalTests(ConsoleFederation federation) : IClassFixture<ConsoleFederation>
{
    private const string FinlandId = "spiffe://fi.cybercoop/gateway/helsinki";

    [Fact]
    public async Task Peer_removal_is_refused_without_the_role_and_applied_and_audited_with_it()
    {
        var ct = TestContext.Current.CancellationToken;
        using var viewerCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        using var viewer = federation.Client(viewerCertificate);
        var viewerPage = await viewer.GetStringAsync("/peers", ct);
        var refused = await viewer.PostAsync("/peers/remove", Form(ConsoleFederation.CsrfToken(viewerPage), FinlandId), ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains(GatewayConfigFile.Load(federation.Estonia.ConfigPath).Config.Peers, p => p.Id == FinlandId);

        using var adminCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleOperator));
        using var admin = federation.Client(adminCertificate);
        var page = await admin.GetStringAsync("/peers", ct);
        var unknown = await admin.PostAsync("/peers/remove", Form(ConsoleFederation.CsrfToken(page), "spiffe://xx.cybercoop/gateway/nobody"), ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var removed = await admin.PostAsync("/peers/remove", Form(ConsoleFederation.CsrfToken(page), FinlandId), ct);

        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Contains("the running gateway reloaded its config", await removed.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.DoesNotContain(GatewayConfigFile.Load(federation.Estonia.ConfigPath).Config.Peers, p => p.Id == FinlandId);
        Assert.DoesNotContain(federation.EstoniaNode.Runtime.Trust.Peers.Keys, k => k == FinlandId);
        Assert.DoesNotContain(FinlandId, await admin.GetStringAsync("/peers", ct), StringComparison.Ordinal);
        var entries = new List<Gateway.Storage.AuditEntry>();
        await ConsoleFederation.WaitUntilAsync(async () =>
        {
            entries.Clear();
            await foreach (var entry in federation.EstoniaNode.Runtime.Store.Audit.TailAsync(100_000, ct))
            {
                entries.Add(entry);
            }

            return entries.Any(e => e.Subject == "console remove-peer " + FinlandId && e.Decision == "applied");
        }, "the removal in the audit log");
        Assert.Contains(entries, e => e.Actor == "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleOperator && e.Subject == "console remove-peer " + FinlandId && e.Decision == "applied" && e.Reason == "treaty ended");
        Assert.Contains(entries, e => e.Actor == "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleViewer && e.Subject == "console remove-peer " + FinlandId && e.Decision == "refused");
    }

    private static FormUrlEncodedContent Form(string token, string peer) =>
        new(new Dictionary<string, string> { ["csrf"] = token, ["peer"] = peer, ["reason"] = "treaty ended" });

}
