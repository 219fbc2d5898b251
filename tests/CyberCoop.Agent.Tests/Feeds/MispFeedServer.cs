using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Tests.Feeds;

/// <summary>
/// A MISP feed web server for tests: real Kestrel on loopback over HTTPS with a certificate issued by a test root (host
/// name "localhost" unless told otherwise). Serves /feed/manifest.json and /feed/&lt;uuid&gt;.json from what the test
/// puts in, answers conditional requests with 304 when the ETag matches, and records every request.
/// </summary>
internal sealed class MispFeedServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Served> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<SeenRequest> _requests = new();

    private MispFeedServer(WebApplication app) => _app = app;

    public sealed record Served(byte[] Body, string ETag, DateTimeOffset LastModified, int Status = 200, bool Chunked = false, long? DeclaredLength = null);

    public sealed record SeenRequest(string Path, string? IfNoneMatch, string? IfModifiedSince, int Status);

    public int Port { get; private set; }

    public string FeedUrl => $"https://localhost:{Port}/feed/";

    /// <summary>When false the server ignores If-None-Match / If-Modified-Since (some static hosts do).</summary>
    public bool HonourValidators { get; set; } = true;

    public IReadOnlyList<SeenRequest> Requests => [.. _requests];

    public int Count(string file) => _requests.Count(r => r.Path == "/feed/" + file);

    /// <summary>Starts the server with a leaf for <paramref name="hostName"/> signed by the root PEM files given.</summary>
    public static async Task<MispFeedServer> StartAsync(string rootCertificatePem, string rootKeyPem, string hostName = "localhost")
    {
        var certificate = IssueServerCertificate(rootCertificatePem, rootKeyPem, hostName);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }));
        var app = builder.Build();
        var server = new MispFeedServer(app);
        app.Run(server.ServeAsync);
        await app.StartAsync(TestContext.Current.CancellationToken);
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    /// <summary>Puts (or replaces) a file; a new ETag each time its body changes.</summary>
    public void Put(string file, string body, DateTimeOffset? lastModified = null) =>
        _files[file] = new Served(Encoding.UTF8.GetBytes(body), "\"" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))[..8]) + "\"",
            lastModified ?? new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(_files.Count));

    public void Put(string file, Served served) => _files[file] = served;

    public void Remove(string file) => _files.TryRemove(file, out _);

    private async Task ServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
        var ifModifiedSince = context.Request.Headers.IfModifiedSince.ToString();
        var (status, file) = Decide(path, ifNoneMatch);

        // Recorded before anything is sent: once the client has its answer, the request is in the list.
        _requests.Enqueue(new SeenRequest(path, ifNoneMatch.Length == 0 ? null : ifNoneMatch, ifModifiedSince.Length == 0 ? null : ifModifiedSince, status));
        context.Response.StatusCode = status;
        if (file is null || status is not (200 or 304))
        {
            return;
        }

        context.Response.Headers.ETag = file.ETag;
        context.Response.Headers.LastModified = file.LastModified.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        if (status == 304)
        {
            return;
        }

        context.Response.ContentType = "application/json";
        if (file.DeclaredLength is { } declared)
        {
            // Announces a body larger than what is sent: the client must refuse before reading it.
            context.Response.ContentLength = declared;
            await context.Response.Body.WriteAsync(file.Body.AsMemory(0, Math.Min(file.Body.Length, 1024)));
            await context.Response.Body.FlushAsync();
            try
            {
                // Holds the response open until the client gives up on it.
                await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        if (!file.Chunked)
        {
            context.Response.ContentLength = file.Body.Length;
        }

        await context.Response.Body.WriteAsync(file.Body);
    }

    private (int Status, Served? File) Decide(string path, string ifNoneMatch)
    {
        if (!path.StartsWith("/feed/", StringComparison.Ordinal) || !_files.TryGetValue(path["/feed/".Length..], out var file))
        {
            return (404, null);
        }

        if (file.Status != 200)
        {
            return (file.Status, file);
        }

        return HonourValidators && ifNoneMatch.Length > 0 && ifNoneMatch == file.ETag ? (304, file) : (200, file);
    }

    private static X509Certificate2 IssueServerCertificate(string rootCertificatePem, string rootKeyPem, string hostName)
    {
        using var root = X509Certificate2.CreateFromPemFile(rootCertificatePem, rootKeyPem);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + hostName, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, false, false));
        var now = DateTimeOffset.UtcNow;
        using var leaf = request.Create(root, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = leaf.CopyWithPrivateKey(key);
        // Through PKCS#12 so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>An event file: <c>{"Event": {...}}</c> with the attributes given.</summary>
    public static string Event(string uuid, long timestamp, params JsonObject[] attributes) =>
        new JsonObject
        {
            ["Event"] = new JsonObject
            {
                ["uuid"] = uuid,
                ["info"] = "test event " + uuid[..8],
                ["timestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Tag"] = new JsonArray(new JsonObject { ["name"] = "tlp:green" }),
                ["Attribute"] = new JsonArray([.. attributes.Select(a => a.DeepClone())]),
            },
        }.ToJsonString();

    /// <summary>A MISP attribute.</summary>
    public static JsonObject Attribute(string type, string value, long timestamp, bool deleted = false, bool toIds = true) => new()
    {
        ["uuid"] = Guid.NewGuid().ToString("D"),
        ["type"] = type,
        ["category"] = "Network activity",
        ["value"] = value,
        ["to_ids"] = toIds,
        ["deleted"] = deleted,
        ["timestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>A manifest naming each event with its timestamp.</summary>
    public static string Manifest(params (string Uuid, long Timestamp)[] events)
    {
        var manifest = new JsonObject();
        foreach (var (uuid, timestamp) in events)
        {
            manifest[uuid] = new JsonObject
            {
                ["info"] = "test event " + uuid[..8],
                ["Orgc"] = new JsonObject { ["name"] = "CERT-EE", ["uuid"] = "5d8f0a1e-0000-4000-8000-000000000001" },
                ["Tag"] = new JsonArray(new JsonObject { ["name"] = "tlp:green" }),
                ["timestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["date"] = "2026-12-01",
                ["analysis"] = 2,
                ["threat_level_id"] = 2,
            };
        }

        return manifest.ToJsonString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
