using System.Net;
using System.Text.RegularExpressions;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Storage;
using Microsoft.Playwright;

namespace CyberCoop.Console.Tests;

/// <summary>
/// Adding a peer from the console, as <c>peers add --fetch --pin</c> does: refused without the operator role and without
/// (or with a foreign) CSRF token, audited; in a real browser, Estonia (which dropped Finland) is shown the root Finland
/// offers, a wrong fingerprint is refused and audited with nothing changed, the right one pins Finland, the node reloads
/// and indicators flow both ways again.
/// </summary>
public sealed partial class ConsolePeerAdditionTests(ConsoleFederation federation) : IClassFixture<ConsoleFederation>, IAsyncLifetime
{
    private const string FinlandId = "spiffe://fi.cybercoop/gateway/helsinki";
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async ValueTask InitializeAsync() => (_playwright, _browser) = await Chromium.LaunchAsync();

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    [Fact]
    public async Task Peer_addition_is_refused_without_the_role_or_a_valid_csrf_token_and_audited()
    {
        var ct = TestContext.Current.CancellationToken;
        var address = federation.Federation.Layout.Nodes[1].Address;
        using var viewerCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        using var viewer = federation.Client(viewerCertificate);
        var viewerPage = await viewer.GetStringAsync("/peers", ct);
        Assert.Contains("id=\"add-peer-fetch\"", viewerPage, StringComparison.Ordinal);

        foreach (var path in new[] { "/peers/add/fetch", "/peers/add" })
        {
            var refused = await viewer.PostAsync(path, Form(ConsoleFederation.CsrfToken(viewerPage), "spiffe://lv.cybercoop/gateway/riga", address, "sha256:" + new string('0', 64)), ct);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("needs the role 'operator'", WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync(ct)), StringComparison.Ordinal);
        }

        using var adminCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleOperator));
        using var admin = federation.Client(adminCertificate);
        await admin.GetStringAsync("/peers", ct);
        var withoutToken = await admin.PostAsync("/peers/add", Form(null, "spiffe://lv.cybercoop/gateway/riga", address, "sha256:" + new string('0', 64)), ct);
        Assert.Equal(HttpStatusCode.BadRequest, withoutToken.StatusCode);
        var foreignToken = await admin.PostAsync("/peers/add/fetch", Form(ConsoleFederation.CsrfToken(viewerPage), "spiffe://lv.cybercoop/gateway/riga", address, null), ct);
        Assert.Equal(HttpStatusCode.BadRequest, foreignToken.StatusCode);
        Assert.Contains("CSRF", await foreignToken.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        var entries = await federation.EstoniaAuditAsync(e => e.Subject == "console add-peer spiffe://lv.cybercoop/gateway/riga" && e.Decision == "refused", 4);
        Assert.Equal(2, entries.Count(e => e.Actor == "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleViewer && e.Reason.StartsWith("role read-only", StringComparison.Ordinal)));
        Assert.Equal(2, entries.Count(e => e.Actor == "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleOperator && e.Reason == "missing or invalid CSRF token"));
    }

    [Fact]
    public async Task Operator_adds_a_peer_in_the_browser_only_with_the_matching_fingerprint_and_it_exchanges()
    {
        var ct = TestContext.Current.CancellationToken;
        var finland = federation.Federation.Layout.Nodes[1];
        var finlandAddress = GatewayConfigFile.Load(federation.Estonia.ConfigPath).Config.Peers.Single(p => p.Id == FinlandId).Address;
        await ConsoleFederation.CliAsync("peers", "remove", "--config", federation.Estonia.ConfigPath, FinlandId);
        Assert.DoesNotContain(federation.EstoniaNode.Runtime.Trust.Peers.Keys, k => k == FinlandId);
        var wrongPin = "sha256:" + new string('a', 64);

        var page = await OpenAsync(DemoFederation.ConsoleOperator);
        await FetchRootAsync(page, finlandAddress);
        // The fingerprint shown is the root Finland offers in its signed trust bundle.
        await Expect(page.Locator("#offered-root dd.mono").Filter(new() { HasText = "sha256:" })).ToHaveTextAsync(finland.RootPin);
        await Chromium.ScreenshotAsync(page, "add-peer");
        await page.Locator("#add-peer-confirm input[name=pin]").FillAsync(wrongPin);
        var refused = await SubmitAsync(page, "#add-peer-confirm", "/peers/add");
        Assert.Equal(400, refused!.Status);
        await Expect(page.Locator("main")).ToContainTextAsync("pin mismatch");
        Assert.DoesNotContain(GatewayConfigFile.Load(federation.Estonia.ConfigPath).Config.Peers, p => p.Id == FinlandId);

        await FetchRootAsync(page, finlandAddress);
        await page.Locator("#add-peer-confirm input[name=pin]").FillAsync(finland.RootPin);
        var added = await SubmitAsync(page, "#add-peer-confirm", "/peers/add");
        Assert.Equal(200, added!.Status);
        await Expect(page.Locator("p.notice")).ToContainTextAsync($"added peer {FinlandId}");

        var pinned = GatewayConfigFile.Load(federation.Estonia.ConfigPath).Config.Peers.Single(p => p.Id == FinlandId);
        Assert.Equal(finland.RootPin, pinned.RootPin);
        Assert.Equal(finlandAddress, pinned.Address);
        Assert.Contains(federation.EstoniaNode.Runtime.Trust.Peers.Keys, k => k == FinlandId);
        var entries = await federation.EstoniaAuditAsync(e => e.Subject == "console add-peer " + FinlandId, 2);
        Assert.Contains(entries, e => e.Decision == "refused" && e.Reason.Contains("pin mismatch", StringComparison.Ordinal) && e.Actor == "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleOperator);
        Assert.Contains(entries, e => e.Decision == "applied" && e.Reason.StartsWith("new treaty; root pinned " + finland.RootPin, StringComparison.Ordinal) && e.Actor == "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleOperator);

        // A real exchange follows: both nations' new indicators cross the re-pinned link.
        await using var estoniaAgent = DemoAgent.Connect(federation.Estonia, federation.Estonia.Agents[0], TimeProvider.System);
        await using var finlandAgent = DemoAgent.Connect(finland, finland.Agents[0], TimeProvider.System);
        await estoniaAgent.SendAsync([new DemoDetection(IndicatorType.Domain, "after-add.console-test.example", Tlp.Amber, 80, "ids-tallinn-1", "after re-add", "c2")], ct);
        await finlandAgent.SendAsync([new DemoDetection(IndicatorType.Ipv4, "198.51.100.77", Tlp.Green, 70, "fw-helsinki-2", "after re-add", "scanning")], ct);
        await ConsoleFederation.WaitUntilAsync(async () =>
            await federation.Federation.Nodes[1].Runtime.Store.GetIndicatorAsync(ConsoleFederation.IdOf(IndicatorType.Domain, "after-add.console-test.example"), ct) is not null
            && await federation.EstoniaNode.Runtime.Store.GetIndicatorAsync(ConsoleFederation.IdOf(IndicatorType.Ipv4, "198.51.100.77"), ct) is not null,
            "indicators to cross the re-added link both ways", TimeSpan.FromSeconds(120));
    }

    private async Task FetchRootAsync(IPage page, string address)
    {
        var response = await page.GotoAsync(federation.EstoniaUrl.TrimEnd('/') + "/peers");
        Assert.Equal(200, response!.Status);
        await page.Locator("#add-peer-fetch input[name=id]").FillAsync(FinlandId);
        await page.Locator("#add-peer-fetch input[name=address]").FillAsync(address);
        await page.Locator("#add-peer-fetch select[name=tlpCeiling]").SelectOptionAsync("AMBER");
        await page.Locator("#add-peer-fetch input[name=reason]").FillAsync("new treaty");
        var fetched = await SubmitAsync(page, "#add-peer-fetch", "/peers/add/fetch");
        Assert.Equal(200, fetched!.Status);
    }

    private static async Task<IResponse> SubmitAsync(IPage page, string form, string path)
    {
        var response = await page.RunAndWaitForResponseAsync(
            () => page.Locator(form + " button").ClickAsync(),
            r => r.Request.Method == "POST" && new Uri(r.Url).AbsolutePath == path);
        await page.WaitForLoadStateAsync(LoadState.DOMContentLoaded);
        return response;
    }

    private async Task<IPage> OpenAsync(string operatorName)
    {
        var (certificate, key) = federation.EstoniaOperator(operatorName);
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = true,
            ClientCertificates = [new ClientCertificate { Origin = federation.EstoniaUrl.TrimEnd('/'), CertPath = certificate, KeyPath = key }],
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        context.SetDefaultTimeout(120_000);
        return await context.NewPageAsync();
    }

    private static FormUrlEncodedContent Form(string? token, string id, string address, string? pin)
    {
        var fields = new Dictionary<string, string> { ["id"] = id, ["address"] = address, ["tlpCeiling"] = "AMBER", ["reason"] = "test" };
        if (token is not null)
        {
            fields["csrf"] = token;
        }

        if (pin is not null)
        {
            fields["pin"] = pin;
        }

        return new FormUrlEncodedContent(fields);
    }


    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
