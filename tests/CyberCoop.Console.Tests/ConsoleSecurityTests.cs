using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.WebConsole;

namespace CyberCoop.Console.Tests;

/// <summary>
/// Who may use the console and what they may do, over real HTTPS to a real node: refusals first (no certificate, a
/// certificate of another CA, an analyst's certificate, a read-only operator acting, a missing or foreign CSRF token),
/// then the one way an action succeeds, audited with the operator's identity.
/// </summary>
public sealed partial class ConsoleSecurityTests(ConsoleFederation federation) : IClassFixture<ConsoleFederation>
{
    private static string AmberId => ConsoleFederation.IdOf(IndicatorType.Domain, ConsoleFederation.AmberDomain);

    private static string RedId => ConsoleFederation.IdOf(IndicatorType.Domain, ConsoleFederation.RedDomain);

    [Fact]
    public async Task Request_without_a_client_certificate_is_refused_with_401_and_no_data()
    {
        using var client = federation.Client(null);

        var response = await client.GetAsync("/peers", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("present an operator certificate of ee.cybercoop", body, StringComparison.Ordinal);
        Assert.DoesNotContain("fi.cybercoop", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operator_certificate_of_another_CA_with_the_same_name_is_refused_with_401()
    {
        using var impostorCa = CertificateAuthority.CreateRoot("ee.cybercoop");
        using var impostor = impostorCa.Issue(SpiffeId.Operator("ee.cybercoop", DemoFederation.ConsoleOperator), TimeSpan.FromDays(1));
        using var client = federation.Client(impostor);

        var response = await client.GetAsync("/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("client certificate refused", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyst_and_agent_certificates_of_the_own_domain_are_refused_with_403()
    {
        using var authority = federation.EstoniaAuthority();
        foreach (var id in new[] { new SpiffeId("ee.cybercoop", WorkloadKind.Analyst, "opencti"), new SpiffeId("ee.cybercoop", WorkloadKind.Agent, "sensor") })
        {
            using var certificate = authority.Issue(id, TimeSpan.FromDays(1));
            using var client = federation.Client(certificate);

            var response = await client.GetAsync("/audit", TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("is not an operator of ee.cybercoop", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Read_only_operator_may_read_but_a_withdraw_is_refused_with_403_and_audited()
    {
        using var certificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        using var client = federation.Client(certificate);
        var ct = TestContext.Current.CancellationToken;
        var page = await client.GetStringAsync($"/indicators/{AmberId}", ct);
        Assert.Contains(ConsoleFederation.AmberDomain, page, StringComparison.Ordinal);
        Assert.Contains("disabled", page, StringComparison.Ordinal);

        var response = await client.PostAsync($"/indicators/{AmberId}/withdraw",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = ConsoleFederation.CsrfToken(page), ["reason"] = "viewer tries" }), ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("needs the role 'operator'", WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(ct)), StringComparison.Ordinal);
        var viewer = "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleViewer;
        await ConsoleFederation.WaitUntilAsync(async () => (await AuditAsync()).Any(e => e.Actor == viewer && e.Decision == "refused" && e.Subject == $"console withdraw {AmberId}"),
            "the refusal in the audit log");
        Assert.Empty(await federation.EstoniaNode.Runtime.Store.ReadWithdrawalsAsync(AmberId, ct));
    }

    [Fact]
    public async Task Action_without_a_CSRF_token_or_with_another_operators_token_is_refused_with_400()
    {
        var ct = TestContext.Current.CancellationToken;
        using var certificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleOperator));
        using var client = federation.Client(certificate);
        await client.GetStringAsync($"/indicators/{RedId}", ct);

        var missing = await client.PostAsync($"/indicators/{RedId}/suppress",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["reason"] = "no token" }), ct);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("CSRF", await missing.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        // A token taken from the read-only operator's page (a cross-site form would carry none at all).
        using var viewerCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        using var viewer = federation.Client(viewerCertificate);
        var foreign = ConsoleFederation.CsrfToken(await viewer.GetStringAsync($"/indicators/{RedId}", ct));
        var wrong = await client.PostAsync($"/indicators/{RedId}/suppress",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = foreign, ["reason"] = "foreign token" }), ct);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);

        Assert.Null(await federation.EstoniaNode.Runtime.Store.ReadSuppressionAsync(RedId, ct));
    }

    [Fact]
    public async Task Operator_with_the_role_suppresses_with_a_token_and_the_audit_names_the_operator()
    {
        var ct = TestContext.Current.CancellationToken;
        using var certificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleOperator));
        using var client = federation.Client(certificate);
        var id = ConsoleFederation.IdOf(IndicatorType.Ipv4, ConsoleFederation.GreenAddress);
        var page = await client.GetStringAsync($"/indicators/{id}", ct);

        var response = await client.PostAsync($"/indicators/{id}/suppress",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf"] = ConsoleFederation.CsrfToken(page), ["reason"] = "scanner of a partner, not hostile" }), ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.NotNull(await federation.EstoniaNode.Runtime.Store.ReadSuppressionAsync(id, ct));
        var entries = await AuditAsync();
        Assert.Contains(entries, e => e.Kind == AuditKinds.Suppressed && e.Subject == id
            && e.Actor == "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleOperator && e.Reason == "scanner of a partner, not hostile");
    }

    [Fact]
    public async Task Every_response_carries_a_strict_content_security_policy_and_pages_have_no_inline_script_or_style()
    {
        var ct = TestContext.Current.CancellationToken;
        using var certificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        using var client = federation.Client(certificate);
        foreach (var path in new[] { "/", "/peers", "/agents", "/flows", "/audit", "/policy", "/indicators", $"/indicators/{AmberId}", "/trust" })
        {
            var response = await client.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(ConsoleServer.ContentSecurityPolicy, string.Join("", response.Headers.GetValues("Content-Security-Policy")));
            var html = await response.Content.ReadAsStringAsync(ct);
            Assert.DoesNotMatch(InlineScript(), html);
            Assert.DoesNotContain("<style", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(" style=", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Console_certificate_chains_to_the_node_root_and_names_the_loopback_address_so_a_browser_trusting_the_root_does_not_warn()
    {
        using var root = federation.EstoniaRoot;
        using var operatorCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        var errors = new List<System.Net.Security.SslPolicyErrors>();
        var chains = new List<bool>();
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [operatorCertificate];
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => operatorCertificate;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, server, _, policyErrors) =>
        {
            // What a browser with the node's root imported checks: the host name (here by .NET's own check) and the
            // chain to that root.
            errors.Add(policyErrors);
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(root);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // serverAuth
            chains.Add(server is not null && chain.Build(new X509Certificate2(server)));
            return true;
        };
        using var client = new HttpClient(handler);

        var response = await client.GetAsync(federation.EstoniaUrl, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("https://127.0.0.1:", federation.EstoniaUrl, StringComparison.Ordinal);
        Assert.DoesNotContain(errors, e => e.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch));
        Assert.All(chains, Assert.True);
        Assert.NotEmpty(chains);
    }

    private async Task<List<AuditEntry>> AuditAsync()
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in federation.EstoniaNode.Runtime.Store.Audit.TailAsync(100_000, TestContext.Current.CancellationToken))
        {
            entries.Add(entry);
        }

        return entries;
    }

    [GeneratedRegex("<script(?![^>]*\\bsrc=)", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();
}
