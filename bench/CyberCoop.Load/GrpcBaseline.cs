using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Load;

/// <summary>
/// Baseline 2: the same indicators, serialized as the bundles A sends (a Bundle of <c>bundleSize</c> indicators inside a
/// SignedBundle-sized payload), streamed over one Federation Exchange call to a sink process on the same kind of
/// mTLS connection (A's gateway certificate, B's gateway certificate, TLS 1.3, HTTP/2) with the forwarder's window of
/// 32 envelopes in flight, each acked by the sink on arrival. No seal, open, sign, verify, policy or storage: the
/// transport ceiling for the same bytes.
/// </summary>
internal static class GrpcBaseline
{
    private const int Window = 32;

    public static async Task<(Rate Rate, long Bytes)> RunAsync(LoadFederation federation, IReadOnlyList<Indicator> indicators, int bundleSize, CancellationToken ct)
    {
        var payloads = new List<ByteString>();
        long bytes = 0;
        foreach (var chunk in indicators.Chunk(bundleSize))
        {
            var bundle = new Bundle
            {
                BundleId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
                Origin = federation.A.GatewayId,
                CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                FirstRecipient = federation.B.GatewayId,
            };
            bundle.Indicators.Add(chunk);
            // A signed bundle adds a suite, a key id and a 64-byte Ed25519 signature; HPKE adds a 16-byte tag.
            var signed = new SignedBundle
            {
                Bundle = bundle.ToByteString(),
                Suite = Suite.X25519Aes256GcmEd25519,
                SignerKeyId = ByteString.CopyFrom(new byte[32]),
                Signature = ByteString.CopyFrom(new byte[64]),
            };
            var payload = ByteString.CopyFrom([.. signed.ToByteArray(), .. new byte[16]]);
            bytes += payload.Length;
            payloads.Add(payload);
        }

        var b = federation.B;
        var a = federation.A;
        var port = LoadFederation.FreePort();
        await using var sink = await ChildProcess.StartAsync("sink", "CyberCoop.Load.dll",
            ["sink", port.ToString(CultureInfo.InvariantCulture), b.File("gateway.crt"), b.File("gateway.key"), a.File("root.crt"), a.Domain, a.Ca.Pin],
            port, TimeSpan.FromSeconds(60), ct);
        using var certificate = a.Certificate("gateway");
        using var channel = LoadFederation.Channel(b, certificate, address: $"https://127.0.0.1:{port}");
        var client = new Federation.FederationClient(channel);

        // Warm the connection (TLS handshake, JIT) before timing.
        await StreamAsync(client, payloads.Take(Math.Min(4, payloads.Count)).ToList(), ct);
        var cpu = ProcStat.Self() + sink.CpuTime();
        var stopwatch = Stopwatch.StartNew();
        await StreamAsync(client, payloads, ct);
        stopwatch.Stop();
        cpu = ProcStat.Self() + sink.CpuTime() - cpu;
        await sink.StopAsync(TimeSpan.FromSeconds(10));
        return (new Rate(indicators.Count, stopwatch.Elapsed, cpu), bytes);
    }

    private static async Task StreamAsync(Federation.FederationClient client, IReadOnlyList<ByteString> payloads, CancellationToken ct)
    {
        using var call = client.Exchange(cancellationToken: ct);
        using var window = new SemaphoreSlim(Window, Window);
        var acks = Task.Run(async () =>
        {
            var received = 0;
            while (received < payloads.Count && await call.ResponseStream.MoveNext(ct))
            {
                received++;
                window.Release();
            }

            return received;
        }, ct);

        await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = "baseline" } }, ct);
        foreach (var payload in payloads)
        {
            await window.WaitAsync(ct);
            var header = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16));
            await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = new Envelope { Header = header, Ciphertext = payload } }, ct);
        }

        var acked = await acks;
        await call.RequestStream.CompleteAsync();
        if (acked != payloads.Count)
        {
            throw new InvalidOperationException($"the sink acked {acked} of {payloads.Count} envelopes");
        }
    }
}
