using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Interop.Misp;
using CyberCoop.Gateway.Interop.Stix;
using Microsoft.Extensions.DependencyInjection;

namespace CyberCoop.Gateway.Demo;

/// <summary>What the interoperability step of the demo showed (one nation's node, read through its standard interfaces).</summary>
internal sealed record DemoInteropSummary
{
    /// <summary>Code of the nation ("FI").</summary>
    public required string Nation { get; init; }

    /// <summary>Objects (indicators, vulnerabilities, sightings) in its STIX 2.1 bundle export.</summary>
    public required int StixObjects { get; init; }

    /// <summary>The bundle file, relative to the demo folder.</summary>
    public required string StixFile { get; init; }

    /// <summary>Title of the TAXII collection the analyst paged through.</summary>
    public required string TaxiiCollection { get; init; }

    /// <summary>Objects the TAXII 2.1 pull returned, over all pages.</summary>
    public required int TaxiiObjects { get; init; }

    /// <summary>Pages requested (the server's <c>more</c>/<c>next</c> followed to the end).</summary>
    public required int TaxiiPages { get; init; }

    /// <summary>Events in its MISP feed export.</summary>
    public required int MispEvents { get; init; }

    /// <summary>Attributes in those events.</summary>
    public required int MispAttributes { get; init; }

    /// <summary>The feed folder, relative to the demo folder.</summary>
    public required string MispFolder { get; init; }
}

/// <summary>
/// The demo's interoperability step, after the lifecycle: Finland's node (the hub, holding what all three nations
/// shared) exports a STIX 2.1 bundle, serves a TAXII 2.1 pull by a local analyst (a real HTTPS request with an analyst
/// certificate of Finland's domain, paging "All received" to the end), and exports a MISP feed folder.
/// </summary>
internal static class DemoInterop
{
    /// <summary>Index of the nation whose node is read (Finland).</summary>
    public const int NationIndex = 1;

    /// <summary>The analyst the demo enables on that node's TAXII server (certificate only, AMBER clearance).</summary>
    public const string Analyst = "demo-analyst";

    /// <summary>The collection the analyst pages through.</summary>
    public const string Collection = "All received";

    private const string MediaType = "application/taxii+json;version=2.1";
    private const int PageSize = 10;

    /// <summary>Where <see cref="DemoFederation"/> writes the analyst's certificate and key for <paramref name="node"/>.</summary>
    public static (string Certificate, string Key) AnalystCertificate(DevNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var directory = Path.Combine(node.Directory, "analysts");
        return (Path.Combine(directory, Analyst + ".crt"), Path.Combine(directory, Analyst + ".key"));
    }

    /// <summary>Runs the step; problems found are added to <paramref name="problems"/>.</summary>
    public static async Task<DemoInteropSummary> RunAsync(DemoFederation federation, TimeProvider time, Action<string, string> report, List<string> problems, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(federation);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(time);
        var node = federation.Nodes[NationIndex];
        var layout = federation.Layout.Nodes[NationIndex];
        var code = federation.Code(NationIndex);
        var exports = Path.Combine(layout.Directory, "exports");
        Directory.CreateDirectory(exports);

        var stixFile = Path.Combine(exports, "stix-bundle.json");
        int stixObjects;
        await using (var stream = new FileStream(stixFile, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stixObjects = await StixBundleExport.WriteAsync(node.Services.GetRequiredService<IExportStore>(), node.Services.GetRequiredService<ILifecycleStore>(), layout.TrustDomain, onlyOrigin: null, stream, time.GetUtcNow(), ct).ConfigureAwait(false);
        }

        report(code, $"STIX 2.1 export: {stixObjects} objects in one bundle (origins as identities, TLP 2.0 markings)");

        int taxiiObjects = 0, pages = 0;
        try
        {
            (taxiiObjects, pages) = await PullAsync(federation, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or JsonException or KeyNotFoundException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            problems.Add($"interop: the TAXII pull from {code} failed: {ex.Message}");
        }

        report(code, $"TAXII 2.1: analyst {Analyst} (certificate) pulled {taxiiObjects} objects from \"{Collection}\" over HTTPS in {pages} pages");

        var mispFolder = Path.Combine(exports, "misp-feed");
        var (events, attributes) = await MispFeedExporter.ExportAsync(node.Services.GetRequiredService<IExportStore>(), node.Services.GetRequiredService<ILifecycleStore>(), layout.TrustDomain, mispFolder, onlyOrigin: null, time, ct).ConfigureAwait(false);
        report(code, $"MISP feed export: {events} events, {attributes} attributes (manifest.json + one file per event)");

        if (stixObjects == 0)
        {
            problems.Add($"interop: {code}'s STIX export holds no object");
        }

        if (taxiiObjects == 0)
        {
            problems.Add($"interop: the TAXII pull from {code} returned no object");
        }

        if (events == 0 || attributes == 0)
        {
            problems.Add($"interop: {code}'s MISP feed export is empty");
        }

        var root = federation.Layout.Directory;
        return new DemoInteropSummary
        {
            Nation = code,
            StixObjects = stixObjects,
            StixFile = Path.GetRelativePath(root, stixFile),
            TaxiiCollection = Collection,
            TaxiiObjects = taxiiObjects,
            TaxiiPages = pages,
            MispEvents = events,
            MispAttributes = attributes,
            MispFolder = Path.GetRelativePath(root, mispFolder),
        };
    }

    /// <summary>Discovery, API root, collections, then every page of <see cref="Collection"/>; returns objects and pages.</summary>
    private static async Task<(int Objects, int Pages)> PullAsync(DemoFederation federation, CancellationToken ct)
    {
        var node = federation.Nodes[NationIndex];
        var layout = federation.Layout.Nodes[NationIndex];
        var port = node.TaxiiPort ?? throw new InvalidOperationException($"{federation.Code(NationIndex)}'s TAXII server is not running");
        var (certificatePath, keyPath) = AnalystCertificate(layout);
        using var certificate = PemFiles.LoadCertificateWithKey(certificatePath, keyPath);
        using var rootCertificate = PemFiles.LoadCertificate(layout.RootCertificate);
        var validator = new ChainValidator([new TrustAnchor(layout.TrustDomain, rootCertificate, SpkiPin.Compute(rootCertificate))]);
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13 | SslProtocols.Tls12,
                ClientCertificates = [certificate],
                // Like any analyst tool given the node's root: that root only, and only that node's gateway identity.
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    presented is X509Certificate2 server
                    && validator.Validate(server, null, CertificatePurpose.Server) is { IsValid: true } result
                    && string.Equals(result.Id?.ToString(), layout.Id, StringComparison.Ordinal),
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Accept.Add(MediaTypeWithQualityHeaderValue.Parse(MediaType));

        using var discovery = await GetAsync(http, "/taxii2/", ct).ConfigureAwait(false);
        var apiRoot = new Uri(discovery.RootElement.GetProperty("api_roots")[0].GetString()!).AbsolutePath;
        using var collections = await GetAsync(http, apiRoot + "collections/", ct).ConfigureAwait(false);
        var collection = collections.RootElement.GetProperty("collections").EnumerateArray()
            .First(c => c.GetProperty("title").GetString() == Collection).GetProperty("id").GetString()!;
        var objects = 0;
        var pages = 0;
        string? next = null;
        do
        {
            var query = $"?limit={PageSize}" + (next is null ? "" : "&next=" + Uri.EscapeDataString(next));
            using var page = await GetAsync(http, $"{apiRoot}collections/{collection}/objects/{query}", ct).ConfigureAwait(false);
            pages++;
            if (page.RootElement.TryGetProperty("objects", out var list))
            {
                objects += list.GetArrayLength();
            }

            next = page.RootElement.TryGetProperty("more", out var more) && more.GetBoolean() ? page.RootElement.GetProperty("next").GetString() : null;
        }
        while (next is not null);
        return (objects, pages);
    }

    private static async Task<JsonDocument> GetAsync(HttpClient http, string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"TAXII GET {path} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
        }

        return JsonDocument.Parse(body);
    }
}
