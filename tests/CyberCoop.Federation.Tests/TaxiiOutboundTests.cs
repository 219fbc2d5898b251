using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Indicators an analyst POSTs to ee's TAXII outbound collection reach an ally under ee's outbound policy, exactly
/// like an agent's sightings: GREEN and AMBER go to fi, RED (above the peer's TLP ceiling) is kept at ee.
/// </summary>
public sealed class TaxiiOutboundTests : IAsyncLifetime
{
    private const string Secret = "writer-secret-0123456789abcdef";
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f["ee"].Config = _f["ee"].Config with
        {
            Taxii = new TaxiiConfig
            {
                Listen = "127.0.0.1:0",
                Analysts = [new TaxiiAnalystConfig { Name = "writer", SecretHash = SecretHash.Hash(Secret, SecretHash.MinimumIterations), CanWrite = true }],
            },
        };
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Posted_indicators_reach_the_ally_under_the_outbound_policy_and_red_stays_home()
    {
        var root = X509CertificateLoader.LoadCertificateFromFile(_f["ee"].RootPath);
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => RootChain.Validates(certificate, root),
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://localhost:{_f["ee"].Node!.TaxiiPort}/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("writer:" + Secret)));
        http.DefaultRequestHeaders.Accept.ParseAdd("application/taxii+json;version=2.1");
        using var collections = JsonDocument.Parse(await http.GetStringAsync("/cybercoop/collections/", TestContext.Current.CancellationToken));
        var outbound = collections.RootElement.GetProperty("collections").EnumerateArray().Single(c => c.GetProperty("can_write").GetBoolean()).GetProperty("id").GetString();
        const string Body = """
            {"objects":[
              {"type":"indicator","spec_version":"2.1","id":"indicator--11111111-1111-4111-8111-111111111111","created":"2026-12-01T10:00:00Z","modified":"2026-12-01T10:00:00Z",
               "pattern":"[domain-name:value = 'green.posted.example']","pattern_type":"stix","valid_from":"2026-12-01T10:00:00Z",
               "object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]},
              {"type":"indicator","spec_version":"2.1","id":"indicator--22222222-2222-4222-8222-222222222222","created":"2026-12-01T10:00:00Z","modified":"2026-12-01T10:00:00Z",
               "pattern":"[domain-name:value = 'red.posted.example']","pattern_type":"stix","valid_from":"2026-12-01T10:00:00Z",
               "object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]},
              {"type":"indicator","spec_version":"2.1","id":"indicator--33333333-3333-4333-8333-333333333333","created":"2026-12-01T10:00:00Z","modified":"2026-12-01T10:00:00Z",
               "pattern":"[ipv4-addr:value = '198.51.100.33']","pattern_type":"stix","valid_from":"2026-12-01T10:00:00Z"}
            ]}
            """;
        using var content = new StringContent(Body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/taxii+json;version=2.1");

        using var response = await http.PostAsync($"/cybercoop/collections/{outbound}/objects/", content, TestContext.Current.CancellationToken);

        Assert.Equal(202, (int)response.StatusCode);
        using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(3, status.RootElement.GetProperty("success_count").GetInt32());
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "green.posted.example") is not null
            && await _f.GetAsync("fi", IndicatorType.Ipv4, "198.51.100.33") is not null, "fi holds the GREEN and AMBER posted indicators");
        var green = await _f.GetAsync("fi", IndicatorType.Domain, "green.posted.example");
        Assert.Equal(Tlp.Green, green!.Tlp);
        Assert.Equal(_f["ee"].Domain, green.OriginDomain);
        // Both were committed with the RED one in one transaction and dispatched together: had the policy let it
        // through, it would be at fi now.
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Domain, "red.posted.example"));
        Assert.Equal(Tlp.Red, (await _f.GetAsync("ee", IndicatorType.Domain, "red.posted.example"))!.Tlp);
    }
}
