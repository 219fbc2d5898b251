using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Demo;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;

namespace CyberCoop.Console.Tests;

/// <summary>
/// Revoking from the console: the domain's root key stays offline (a copy of Estonia's CA folder stands for the CA
/// machine, where <c>certs revoke</c> signs the next bundle); the console applies the uploaded bundle as
/// <c>certs bundle install</c> does. Refused without the role, without or with a foreign CSRF token, unsigned, signed by
/// another root, not a bundle, or older than the bundle in use; applied, the revoked operator and agent certificates are
/// refused on their next request and connection.
/// </summary>
public sealed partial class ConsoleRevocationTests(ConsoleFederation federation) : IClassFixture<ConsoleFederation>
{
    private const string Admin = "console:spiffe://ee.cybercoop/operator/" + DemoFederation.ConsoleOperator;

    [Fact]
    public async Task Bundle_upload_is_refused_without_role_or_csrf_and_when_unsigned_wrongly_signed_or_not_a_bundle()
    {
        var ct = TestContext.Current.CancellationToken;
        var before = federation.EstoniaNode.Runtime.Trust.OwnBundle.Sequence;
        var installed = await File.ReadAllBytesAsync(Path.Combine(federation.Estonia.Directory, TrustBundleFile.DefaultName), ct);
        var current = TrustBundleFile.Parse(installed, "installed");
        var newer = TrustBundle.Parser.ParseFrom(current.Bundle);
        newer.Sequence += 5;
        var unsigned = new SignedTrustBundle { Bundle = newer.ToByteString() }.ToByteArray();
        using var impostor = CertificateAuthority.CreateRoot("ee.cybercoop");
        var foreign = newer.Clone();
        foreign.RootCertificates.Clear();
        foreign.RootCertificates.Add(ByteString.CopyFrom(impostor.Certificate.RawData));
        var wronglySigned = TrustBundleSigner.Sign(foreign, [impostor]).ToByteArray();

        using var viewerCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleViewer));
        using var viewer = federation.Client(viewerCertificate);
        var viewerPage = await viewer.GetStringAsync("/trust", ct);
        Assert.Contains("disabled", viewerPage, StringComparison.Ordinal);
        var byViewer = await viewer.PostAsync("/trust/install", Upload(ConsoleFederation.CsrfToken(viewerPage), installed), ct);
        Assert.Equal(HttpStatusCode.Forbidden, byViewer.StatusCode);

        using var adminCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleOperator));
        using var admin = federation.Client(adminCertificate);
        var page = await admin.GetStringAsync("/trust", ct);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/trust/install", Upload(null, installed), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/trust/install", Upload(ConsoleFederation.CsrfToken(viewerPage), installed), ct)).StatusCode);

        foreach (var (bytes, expected) in new[]
        {
            (unsigned, "does not verify"),
            (wronglySigned, "would refuse this bundle"),
            ("not a bundle"u8.ToArray(), "is not a signed trust bundle"),
        })
        {
            var response = await admin.PostAsync("/trust/install", Upload(ConsoleFederation.CsrfToken(page), bytes), ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(expected, WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(ct)), StringComparison.Ordinal);
        }

        Assert.Equal(before, federation.EstoniaNode.Runtime.Trust.OwnBundle.Sequence);
        Assert.Equal(installed, await File.ReadAllBytesAsync(Path.Combine(federation.Estonia.Directory, TrustBundleFile.DefaultName), ct));
        var entries = await federation.EstoniaAuditAsync(e => e.Subject == "console apply-trust-bundle" && e.Decision == "refused" && !e.Reason.Contains("older sequence", StringComparison.Ordinal), 6);
        Assert.Contains(entries, e => e.Actor.EndsWith(DemoFederation.ConsoleViewer, StringComparison.Ordinal) && e.Reason.StartsWith("role read-only", StringComparison.Ordinal));
        Assert.Equal(2, entries.Count(e => e.Actor == Admin && e.Reason == "missing or invalid CSRF token"));
        Assert.Contains(entries, e => e.Actor == Admin && e.Reason.Contains("would refuse this bundle", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Uploaded_revocation_signed_offline_refuses_the_revoked_operator_and_agent_at_once_and_an_older_bundle_after_it()
    {
        var ct = TestContext.Current.CancellationToken;
        using var authority = federation.EstoniaAuthority();
        using var doomed = authority.Issue(SpiffeId.Operator("ee.cybercoop", "doomed"), TimeSpan.FromDays(1));
        using var doomedClient = federation.Client(doomed);
        Assert.Equal(HttpStatusCode.OK, (await doomedClient.GetAsync("/", ct)).StatusCode);
        using var agentCertificate = X509CertificateLoader.LoadCertificateFromFile(federation.Estonia.Agents[0].Certificate);
        var original = await File.ReadAllBytesAsync(Path.Combine(federation.Estonia.Directory, TrustBundleFile.DefaultName), ct);

        // The CA machine: a copy of the domain's root, key and bundle; the revocations are signed there.
        var ca = Directory.CreateTempSubdirectory("cc-ca-").FullName;
        foreach (var name in new[] { CertificateFiles.RootCertificateName, CertificateFiles.RootKeyName, TrustBundleFile.DefaultName })
        {
            File.Copy(Path.Combine(federation.Estonia.Directory, name), Path.Combine(ca, name));
        }

        await ConsoleFederation.CliAsync("certs", "revoke", "--ca-dir", ca, "--serial", doomed.SerialNumber);
        await ConsoleFederation.CliAsync("certs", "revoke", "--ca-dir", ca, "--serial", agentCertificate.SerialNumber);
        var revoked = await File.ReadAllBytesAsync(Path.Combine(ca, TrustBundleFile.DefaultName), ct);
        Assert.Equal(1UL, federation.EstoniaNode.Runtime.Trust.OwnBundle.Sequence);

        using var adminCertificate = ConsoleFederation.Load(federation.EstoniaOperator(DemoFederation.ConsoleOperator));
        using var admin = federation.Client(adminCertificate);
        var page = await admin.GetStringAsync("/trust", ct);
        var applied = await admin.PostAsync("/trust/install", Upload(ConsoleFederation.CsrfToken(page), revoked), ct);

        var body = WebUtility.HtmlDecode(await applied.Content.ReadAsStringAsync(ct));
        Assert.True(applied.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("applied trust bundle sequence 3 (2 revoked serial(s))", body, StringComparison.Ordinal);
        Assert.Equal(3UL, federation.EstoniaNode.Runtime.Trust.OwnBundle.Sequence);
        var refused = await doomedClient.GetAsync("/", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", await refused.Content.ReadAsStringAsync(ct), StringComparison.OrdinalIgnoreCase);
        using (var fresh = federation.Client(doomed))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await fresh.GetAsync("/", ct)).StatusCode);
        }

        await using (var agent = DemoAgent.Connect(federation.Estonia, federation.Estonia.Agents[0], TimeProvider.System))
        {
            // Refused at the handshake (the connection fails) or on the call, depending on where the refusal reaches the client first.
            var refusal = await Assert.ThrowsAnyAsync<Exception>(() => agent.SendAsync(
                [new DemoDetection(IndicatorType.Domain, "after-revoke.console-test.example", Tlp.Green, 60, "ids-tallinn-1", "revoked agent", "c2")], ct));
            Assert.True(refusal is Grpc.Core.RpcException or IOException or HttpRequestException, refusal.ToString());
        }

        Assert.Null(await federation.EstoniaNode.Runtime.Store.GetIndicatorAsync(ConsoleFederation.IdOf(IndicatorType.Domain, "after-revoke.console-test.example"), ct));
        Assert.Contains(doomed.SerialNumber, await admin.GetStringAsync("/trust", ct), StringComparison.Ordinal);

        var older = await admin.PostAsync("/trust/install", Upload(ConsoleFederation.CsrfToken(page), original), ct);
        Assert.Equal(HttpStatusCode.BadRequest, older.StatusCode);
        Assert.Contains("refusing to install the older sequence 1", WebUtility.HtmlDecode(await older.Content.ReadAsStringAsync(ct)), StringComparison.Ordinal);
        Assert.Equal(3UL, federation.EstoniaNode.Runtime.Trust.OwnBundle.Sequence);

        var entries = await federation.EstoniaAuditAsync(e => e.Subject == "console apply-trust-bundle" && e.Actor == Admin
            && (e.Decision == "applied" || e.Reason.Contains("older sequence", StringComparison.Ordinal)), 2);
        Assert.Contains(entries, e => e.Decision == "applied" && e.Reason.StartsWith("revocation test; sequence 3, 2 revoked serial(s)", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Decision == "refused" && e.Reason.Contains("older sequence", StringComparison.Ordinal));
        Directory.Delete(ca, recursive: true);
    }

    private static MultipartFormDataContent Upload(string? token, byte[] bundle)
    {
        var content = new MultipartFormDataContent();
        if (token is not null)
        {
            content.Add(new StringContent(token), "csrf");
        }

        content.Add(new StringContent("revocation test"), "reason");
        var file = new ByteArrayContent(bundle);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(file, "bundle", "trust-bundle.pb");
        return content;
    }

}
