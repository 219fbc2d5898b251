using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace CyberCoop.Load.Abuse;

/// <summary>
/// The hostile agent of the <c>abuse</c> scenario, run as its own process (an attacker's CPU is not the gateway's):
/// one agent certificate holding <c>--streams</c> Ingest streams open on as many HTTP/2 connections as it needs, each
/// writing 2,500-sighting batches with fresh ids as fast as the gateway reads them, and re-opening a refused or dropped
/// stream a second later. Runs until SIGTERM; then prints one line of counts.
/// </summary>
internal static class HostileAgent
{
    /// <summary>Printed once every stream has had an answer from the gateway: a batch answered, or the stream refused.</summary>
    public const string FullPressure = "hostile: full pressure";

    private const int BatchSightings = 2_500;

    public static async Task<int> RunAsync(string[] args)
    {
        string? address = null, certificate = null, key = null, root = null;
        var streams = 200;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--address": address = args[i + 1]; break;
                case "--certificate": certificate = args[i + 1]; break;
                case "--key": key = args[i + 1]; break;
                case "--root": root = args[i + 1]; break;
                case "--streams": streams = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: break;
            }
        }

        if (address is null || certificate is null || key is null || root is null || args.Length % 2 != 0)
        {
            await Console.Error.WriteLineAsync("usage: CyberCoop.Load hostile --address <url> --certificate <crt> --key <key> --root <root.crt> [--streams <n>]");
            return 2;
        }

        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        using var clientCertificate = X509Certificate2.CreateFromPemFile(certificate, key);
        using var trustedRoot = X509CertificateLoader.LoadCertificateFromFile(root);
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                SslOptions = new SslClientAuthenticationOptions
                {
                    EnabledSslProtocols = SslProtocols.Tls13,
                    ClientCertificates = [clientCertificate],
                    RemoteCertificateValidationCallback = (_, cert, _, _) => RootChain.Validates(cert, trustedRoot),
                },
            },
            DisposeHttpClient = true,
            MaxSendMessageSize = 16 * 1024 * 1024,
        });
        var client = new Ingest.IngestClient(channel);
        var templates = Enumerable.Range(0, 8).Select(Template).ToList();
        var counts = new Counts();
        var answeredOnce = new CountdownEvent(streams);
        var tasks = Enumerable.Range(0, streams).Select(_ => Task.Run(() => StreamAsync(client, templates, counts, answeredOnce, stop.Token))).ToList();
        _ = Task.Run(() =>
        {
            answeredOnce.Wait(stop.Token);
            Console.WriteLine(FullPressure);
        }, stop.Token);
        await Task.WhenAll(tasks);
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Console.WriteLine($"hostile: {streams} streams; {counts.Opened:N0} stream opens, {counts.Refused:N0} refused with RESOURCE_EXHAUSTED, " +
                          $"{counts.Dropped:N0} ended by a closed connection, {counts.Batches:N0} batches written ({counts.Batches * BatchSightings:N0} sightings), " +
                          $"{counts.Other.Count} other errors{(counts.Other.TryPeek(out var first) ? " (first: " + first.Message + ")" : "")}");
        return 0;
    }

    private static IngestBatch Template(int template)
    {
        var batch = new IngestBatch();
        var seen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        for (var i = 0; i < BatchSightings; i++)
        {
            batch.Sightings.Add(new Sighting { Type = IndicatorType.Domain, Value = $"flood-{template}-{i}.example", Tlp = Tlp.Amber, Confidence = 50, ObservedAt = seen, Count = 1 });
        }

        return batch;
    }

    private static async Task StreamAsync(Ingest.IngestClient client, IReadOnlyList<IngestBatch> templates, Counts counts, CountdownEvent answeredOnce, CancellationToken ct)
    {
        var next = Random.Shared.Next(templates.Count);
        var engaged = 0;
        void Engaged()
        {
            if (Interlocked.Exchange(ref engaged, 1) == 0)
            {
                answeredOnce.Signal();
            }
        }

        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var call = client.Submit(cancellationToken: ct);
                Interlocked.Increment(ref counts.Opened);

                var answers = Task.Run(async () =>
                {
                    while (await call.ResponseStream.MoveNext(ct))
                    {
                        Engaged();
                    }
                }, CancellationToken.None);
                try
                {
                    while (!answers.IsCompleted)
                    {
                        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
                        batch.Sightings.Add(templates[next++ % templates.Count].Sightings);
                        await call.RequestStream.WriteAsync(batch, ct);
                        Interlocked.Increment(ref counts.Batches);
                    }
                }
                catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
                {
                    // The call ended; its status comes from the answers.
                }

                await answers;
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                Interlocked.Increment(ref counts.Refused);
                Engaged();
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or RpcException { StatusCode: StatusCode.Internal or StatusCode.Unavailable })
            {
                Interlocked.Increment(ref counts.Dropped);
                Engaged();
            }
            catch (Exception ex)
            {
                counts.Other.Enqueue(ex);
            }

            try
            {
                // The attacker keeps its streams: each one that ended is opened again a second later.
                await Task.Delay(1_000, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private sealed class Counts
    {
        public long Opened;
        public long Refused;
        public long Dropped;
        public long Batches;
        public ConcurrentQueue<Exception> Other { get; } = new();
    }
}
