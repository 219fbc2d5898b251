using System.Text.RegularExpressions;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Storage;
using Microsoft.Playwright;

namespace CyberCoop.Console.Tests;

/// <summary>
/// The console in a real browser (headless Chromium from the distribution, driven by Playwright) against Estonia's node of
/// a running three-nation federation: every page shows that node's real data, the policy test answers as
/// <c>policy test</c> does, a withdrawal is refused to a read-only operator and done, audited, with the role; and no page
/// logs a console error (a Content-Security-Policy violation is one). Each page's screenshot is written to
/// <c>$CYBERCOOP_CONSOLE_SCREENSHOTS</c> when set (docs/console/update-screenshots.sh sets it to docs/console).
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleFederation federation) : IClassFixture<ConsoleFederation>, IAsyncLifetime
{
    private const string FinlandId = "spiffe://fi.cybercoop/gateway/helsinki";
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private readonly List<string> _consoleErrors = [];

    public async ValueTask InitializeAsync() => (_playwright, _browser) = await Chromium.LaunchAsync();

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    [Fact]
    public async Task Every_page_renders_the_nodes_real_data_without_console_errors()
    {
        var page = await OpenAsync(DemoFederation.ConsoleOperator);

        await GoAsync(page, "/");
        await Expect(page.Locator("dd").First).ToHaveTextAsync(federation.EstoniaNode.Runtime.Identity.IdText);
        await Expect(page.Locator("#outbox tbody tr").Filter(new() { HasText = FinlandId })).ToContainTextAsync("connected");
        await ShotAsync(page, "overview");

        await GoAsync(page, "/peers");
        var finland = page.Locator("section.peer").Filter(new() { HasText = FinlandId });
        await Expect(finland).ToContainTextAsync("connected since");
        await Expect(finland).ToContainTextAsync(federation.Federation.Layout.Nodes[1].RootPin);
        // Finland's gateway certificate (one day in the demo federation) as presented on its open stream, with the 7-day alarm.
        await Expect(finland.Locator("dd.alarm").Filter(new() { HasText = "presented on its open stream" })).ToHaveCountAsync(1);
        // Estonia's RED indicator is withheld from Finland (TLP ceiling AMBER), with the reason from the audit log.
        await Expect(finland.Locator("table.reasons")).ToContainTextAsync("tlp-above-ceiling");
        var sent = await finland.Locator("table.counts tbody td").First.InnerTextAsync();
        Assert.True(long.Parse(sent.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) >= 1, $"indicators sent to Finland: {sent}");
        await ShotAsync(page, "peers");

        await GoAsync(page, "/agents");
        var agent = federation.Estonia.Agents[0].Id;
        await Expect(page.Locator("#agents tbody tr").Filter(new() { HasText = agent })).ToContainTextAsync("2");
        await ShotAsync(page, "agents");

        await GoAsync(page, "/flows");
        await Expect(page.Locator("#flow-table tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#flows canvas").First).ToBeVisibleAsync();
        var rows = await page.Locator("#flow-table tbody tr").AllInnerTextsAsync();
        Assert.Contains(rows, r => r.StartsWith("ee.cybercoop\tfi.cybercoop\t", StringComparison.Ordinal) && !r.EndsWith("\t0", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.StartsWith("fi.cybercoop\tee.cybercoop\t", StringComparison.Ordinal) && !r.EndsWith("\t0", StringComparison.Ordinal));
        await ShotAsync(page, "flows");

        await GoAsync(page, "/audit");
        await Expect(page.Locator("#chain")).ToContainTextAsync("chain OK");
        await page.Locator("input[name=q]").FillAsync("tlp-above-ceiling");
        await page.Locator("select[name=kind]").SelectOptionAsync(AuditKinds.Withheld);
        await page.Locator("form.search button").ClickAsync();
        await Expect(page.Locator("#audit tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#audit tbody tr").First).ToContainTextAsync(FinlandId);
        await GoAsync(page, "/audit");
        await ShotAsync(page, "audit");

        await GoAsync(page, "/indicators?q=red.console-test");
        await Expect(page.Locator("#indicators tbody tr")).ToHaveCountAsync(1);
        await GoAsync(page, "/indicators?q=domain:" + ConsoleFederation.AmberDomain);
        await Expect(page.Locator("#indicators tbody tr")).ToHaveCountAsync(1);
        await page.Locator("#indicators a", new() { HasText = ConsoleFederation.AmberDomain }).ClickAsync();
        await Expect(page.Locator("#observations")).ToContainTextAsync("ids-tallinn-1");
        await Expect(page.Locator("main dl")).ToContainTextAsync("originated here");
        await ShotAsync(page, "indicator");

        await GoAsync(page, "/trust");
        await Expect(page.Locator("#own-bundle")).ToContainTextAsync(federation.Federation.Layout.Nodes[0].RootPin);
        await Expect(page.Locator("#apply-bundle-form button")).ToBeEnabledAsync();
        await ShotAsync(page, "trust");
        await GoAsync(page, "/indicators");
        await ShotAsync(page, "indicators");

        Assert.True(_consoleErrors.Count == 0, string.Join(Environment.NewLine, _consoleErrors));
    }

    [Fact]
    public async Task Policy_test_answers_for_each_peer_as_the_policy_test_command_does()
    {
        const string indicator = "{\"type\":\"domain\",\"value\":\"Policy.Console-Test.Example.\",\"tlp\":\"RED\",\"confidence\":80,\"tags\":[\"c2\"]}";
        var page = await OpenAsync(DemoFederation.ConsoleViewer);
        await GoAsync(page, "/policy");

        await page.Locator("textarea[name=indicator]").FillAsync(indicator);
        await page.Locator("form.policy button").ClickAsync();

        var section = page.Locator("section.decision").Filter(new() { HasText = FinlandId });
        var shown = await section.Locator("p.verdict").InnerTextAsync();
        var shownRules = await section.Locator("table.rules tbody tr").AllInnerTextsAsync();
        var cli = await ConsoleFederation.CliAsync("policy", "test", "--config", federation.Estonia.ConfigPath, "--peer", FinlandId, "--indicator", indicator);
        var cliLines = cli.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Equal(cliLines.Single(l => l.StartsWith("decision", StringComparison.Ordinal)), Regex.Replace(shown, "\\s+", " ").Replace("decision ", "decision   ", StringComparison.Ordinal));
        Assert.Contains("WITHHELD", shown, StringComparison.Ordinal);
        var cliRules = cliLines.SkipWhile(l => l != "rules:").Skip(1).TakeWhile(l => l.StartsWith("pass", StringComparison.Ordinal) || l.StartsWith("FAIL", StringComparison.Ordinal))
            .Select(l => Regex.Replace(l, "\\s+", " ")).ToList();
        Assert.Equal(cliRules, shownRules.Select(r => Regex.Replace(r, "\\s+", " ").Trim()).ToList());
        await ShotAsync(page, "policy");

        await page.Locator("textarea[name=indicator]").FillAsync("{\"type\":\"domain\"}");
        await page.Locator("form.policy button").ClickAsync();
        await Expect(page.Locator("p.error")).ToContainTextAsync("value");
        Assert.True(_consoleErrors.Count == 0, string.Join(Environment.NewLine, _consoleErrors));
    }

    [Fact]
    public async Task Withdraw_is_refused_to_a_read_only_operator_and_done_with_the_role_audited_with_the_operators_identity()
    {
        var id = ConsoleFederation.IdOf(IndicatorType.Domain, ConsoleFederation.AmberDomain);
        var viewer = await OpenAsync(DemoFederation.ConsoleViewer);
        await GoAsync(viewer, "/indicators/" + id);
        var viewerButton = viewer.Locator("#withdraw button");
        await Expect(viewerButton).ToBeDisabledAsync();
        // The button is only a hint: the node refuses the request itself, even when the form is forced.
        await viewer.Locator("#withdraw input[name=reason]").FillAsync("viewer forces it");
        await viewerButton.EvaluateAsync("b => b.disabled = false");
        await viewerButton.ClickAsync();
        await Expect(viewer.Locator("main")).ToContainTextAsync("needs the role 'operator'");
        Assert.Empty(await federation.EstoniaNode.Runtime.Store.ReadWithdrawalsAsync(id, TestContext.Current.CancellationToken));

        var admin = await OpenAsync(DemoFederation.ConsoleOperator);
        await GoAsync(admin, "/indicators/" + id);
        await admin.Locator("#withdraw input[name=reason]").FillAsync("sinkholed by the registrar");
        await admin.Locator("#withdraw button").ClickAsync();
        await Expect(admin.Locator("p.notice")).ToContainTextAsync("withdrawn; queued to " + FinlandId);
        await Expect(admin.Locator("#withdrawals")).ToContainTextAsync("sinkholed by the registrar");

        await GoAsync(admin, "/audit?q=" + Uri.EscapeDataString("operator/" + DemoFederation.ConsoleOperator));
        await Expect(admin.Locator("#audit tbody tr").Filter(new() { HasText = AuditKinds.Withdrawn }).First).ToContainTextAsync("console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleOperator);
        await GoAsync(admin, "/audit?q=" + Uri.EscapeDataString("operator/" + DemoFederation.ConsoleViewer));
        await Expect(admin.Locator("#audit tbody tr").Filter(new() { HasText = "refused" }).First).ToContainTextAsync("console withdraw " + id);

        // Federation-wide: Finland records the withdrawal.
        await ConsoleFederation.WaitUntilAsync(async () =>
            (await federation.Federation.Nodes[1].Runtime.Store.ReadWithdrawalsAsync(id, TestContext.Current.CancellationToken)).Count == 1, "Finland to record the withdrawal");
        // The one expected error: the browser logs the refused (403) request.
        Assert.DoesNotContain(_consoleErrors, e => !e.Contains("403", StringComparison.Ordinal));
    }

    private async Task<IPage> OpenAsync(string operatorName)
    {
        var (certificate, key) = federation.EstoniaOperator(operatorName);
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            // The test browser does not trust the federation's roots (an operator imports theirs; docs/operator-guide.md).
            IgnoreHTTPSErrors = true,
            ClientCertificates = [new ClientCertificate { Origin = federation.EstoniaUrl.TrimEnd('/'), CertPath = certificate, KeyPath = key }],
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _consoleErrors.Add($"{page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => _consoleErrors.Add($"{page.Url}: {error}");
        return page;
    }

    private async Task GoAsync(IPage page, string path)
    {
        var response = await page.GotoAsync(federation.EstoniaUrl.TrimEnd('/') + path);
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
    }

    private static Task ShotAsync(IPage page, string name) => Chromium.ScreenshotAsync(page, name);

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
