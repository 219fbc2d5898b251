using System.Net;
using System.Text.RegularExpressions;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Console.Tests;

/// <summary>The audit page searches the whole log in the database, not only the newest entries, and pages through it.</summary>
public sealed partial class ConsoleAuditSearchTests(ConsoleFederation federation) : IClassFixture<ConsoleFederation>
{
    [Fact]
    public async Task Audit_search_finds_an_entry_behind_more_than_ten_thousand_newer_ones_and_pages_to_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var audit = federation.EstoniaNode.Runtime.Store.Audit;
        await audit.AppendAsync([new AuditEntry { Kind = AuditKinds.Admin, Actor = "operator", Subject = "needle-7f3a", Decision = "applied", Reason = "an old decision" }], ct);
        var needle = (await audit.SearchAsync(new AuditQuery { Text = "needle-7f3a" }, ct)).Single().Seq;
        for (var batch = 0; batch < 11; batch++)
        {
            await audit.AppendAsync([.. Enumerable.Range(0, 1000).Select(i => new AuditEntry
            {
                Kind = AuditKinds.Config, Actor = "operator", Subject = $"filler-{batch}-{i}", Decision = "applied", Reason = "load",
            })], ct);
        }

        using var certificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        using var client = federation.Client(certificate);

        var found = WebUtility.HtmlDecode(await client.GetStringAsync("/audit?q=needle-7f3a", ct));

        Assert.True(await audit.CountAsync(ct) - needle >= 11_000);
        Assert.Single(Rows().Matches(found));
        Assert.Contains("needle-7f3a", found, StringComparison.Ordinal);
        Assert.Contains("searched over the whole log", found, StringComparison.Ordinal);

        // Paging by kind from the newest page reaches the old entry through the "older" links.
        var path = "/audit?q=&kind=" + AuditKinds.Admin;
        for (var pages = 0; pages < 100; pages++)
        {
            var page = WebUtility.HtmlDecode(await client.GetStringAsync(path, ct));
            Assert.All(Rows().Matches(page), row => Assert.Contains("<td>admin</td>", row.Value, StringComparison.Ordinal));
            if (page.Contains("needle-7f3a", StringComparison.Ordinal))
            {
                return;
            }

            var older = OlderLink().Match(page);
            Assert.True(older.Success, "no older page and the entry was not found");
            path = older.Groups[1].Value;
        }

        Assert.Fail("the old admin entry was not reached within 100 pages");
    }

    [GeneratedRegex("<tr><td class=\"num\">.*?</tr>", RegexOptions.Singleline)]
    private static partial Regex Rows();

    [GeneratedRegex("<a href=\"([^\"]+)\" class=\"older\">")]
    private static partial Regex OlderLink();
}
