using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary>
/// A minimal TAXII 2.1 client written from the specification (sections 1.6, 3.3-3.6, 4, 5), not from the server's
/// code: HTTPS with the node's root as the only trust anchor, optional client certificate, optional HTTP basic.
/// </summary>
internal sealed class TaxiiClient : IDisposable
{
    public const string MediaType = "application/taxii+json;version=2.1";
    private readonly HttpClient _http;

    public TaxiiClient(int port, string rootCertificatePath, X509Certificate2? clientCertificate = null, string? user = null, string? secret = null)
    {
        var root = X509CertificateLoader.LoadCertificateFromFile(rootCertificatePath);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => RootChain.Validates(certificate, root),
            },
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        _http = new HttpClient(handler) { BaseAddress = new Uri($"https://localhost:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        if (user is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + secret)));
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>GET with the TAXII Accept header; returns status, headers and parsed body.</summary>
    public async Task<TaxiiResponse> GetAsync(string path, string accept = MediaType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        return await SendAsync(request);
    }

    public async Task<TaxiiResponse> SendAsync(HttpRequestMessage request)
    {
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var headers = response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        return new TaxiiResponse((int)response.StatusCode, headers, text.Length == 0 ? null : JsonDocument.Parse(text));
    }
}

internal sealed record TaxiiResponse(int Status, IReadOnlyDictionary<string, string> Headers, JsonDocument? Body)
{
    public JsonElement Json => Body!.RootElement;

    public string ContentType => Headers.TryGetValue("Content-Type", out var value) ? value : "";
}
