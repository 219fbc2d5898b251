using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Load;

/// <summary>
/// Where the time goes: each stage an indicator passes from A's Ingest to B's commit, run one after another on one
/// thread with the gateway's own classes (real SQLite files with the gateway's pragmas, real keys of the hybrid suite),
/// bundle by bundle. CPU time per stage is the figure to read on a shared machine; wall time includes waiting for
/// fsync and for the CPU.
/// </summary>
internal static class StageProfile
{
    public static async Task<IReadOnlyList<(string Stage, string Side, TimeSpan Cpu, TimeSpan Wall)>> RunAsync(int bundles, int bundleSize, Suite suite, CancellationToken ct)
    {
        var root = Path.Combine(Path.GetTempPath(), "cybercoop-load", "stages-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var stages = new Dictionary<string, (string Side, TimeSpan Cpu, TimeSpan Wall)>(StringComparer.Ordinal);
        var order = new List<string>();
        async Task<T> Time<T>(string side, string stage, Func<Task<T>> work)
        {
            var cpu = ProcStat.Self();
            var wall = Stopwatch.GetTimestamp();
            var result = await work();
            var (s, c, w) = stages.TryGetValue(stage, out var v) ? v : (side, TimeSpan.Zero, TimeSpan.Zero);
            if (!stages.ContainsKey(stage))
            {
                order.Add(stage);
            }

            stages[stage] = (s, c + (ProcStat.Self() - cpu), w + Stopwatch.GetElapsedTime(wall));
            return result;
        }

        const string a = "spiffe://a.load.cybercoop/gateway/gw-a";
        const string b = "spiffe://b.load.cybercoop/gateway/gw-b";
        const string agent = "spiffe://a.load.cybercoop/agent/sensor-1";
        try
        {
            await using var storeA = await GatewayStore.OpenAsync(Path.Combine(root, "a.db"), TimeProvider.System, ct);
            await using var storeB = await GatewayStore.OpenAsync(Path.Combine(root, "b.db"), TimeProvider.System, ct);
            using var signingKey = SigningKeyPair.Generate(suite);
            using var kemKey = KemKeyPair.Generate(suite);
            using var receiptKey = SigningKeyPair.Generate(suite);
            var validator = new SightingValidator(TimeProvider.System);
            var outbound = PolicyMapper.ToOutbound(new OutboundPolicyConfig { TlpCeiling = "AMBER" });
            var inbound = PolicyMapper.ToInbound(new InboundPolicyConfig());
            var outboundEvaluator = new OutboundPolicyEvaluator();
            var inboundEvaluator = new InboundPolicyEvaluator(TimeProvider.System);
            var observedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
            long cursor = 0;

            // Warm-up bundles (JIT tiering) excluded from the figures.
            const int warmup = 10;
            for (var round = -warmup; round < bundles; round++)
            {
                if (round == 0)
                {
                    stages.Clear();
                    order.Clear();
                }

                var batch = LoadData.Batch("stages-" + suite, (round + (long)warmup) * bundleSize, bundleSize, observedAt);
                var items = await Time("A", "validate + normalize sightings", () => Task.FromResult(
                    batch.Sightings.Select(s => validator.Validate(s, a, "sensor-1")).ToList()));
                await Time("A", "commit agent batch (SQLite)", () => storeA.CommitIngestAsync(agent, batch.BatchId.Memory, items, ct));
                var changes = await Time("A", "read change feed", () => storeA.ReadLocalChangesAsync(cursor, bundleSize * 4, ct));
                cursor = changes[^1].Seq;
                var now = DateTimeOffset.UtcNow;
                var shared = await Time("A", "outbound policy + redaction", () => Task.FromResult(
                    changes.Select(c => outboundEvaluator.Evaluate(c.Indicator, outbound, now)).Where(d => d.Shared).Select(d => d.Redacted!).ToList()));
                var signedBytes = await Time("A", "serialize + sign bundle", () =>
                {
                    var bundle = new Bundle
                    {
                        BundleId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
                        Origin = a,
                        CreatedAt = Timestamp.FromDateTimeOffset(now),
                        FirstRecipient = b,
                    };
                    bundle.Indicators.Add(shared);
                    var bundleBytes = bundle.ToByteArray();
                    return Task.FromResult(new SignedBundle
                    {
                        Bundle = ByteString.CopyFrom(bundleBytes),
                        Suite = suite,
                        SignerKeyId = ByteString.CopyFrom(signingKey.PublicKey.KeyId),
                        Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.Bundle, bundleBytes, signingKey)),
                    }.ToByteArray());
                });
                var envelopeId = RandomNumberGenerator.GetBytes(16);
                await Time("A", "commit outbox + cursor + audit (SQLite)", async () =>
                {
                    var details = "{\"indicators\":[\"" + string.Join("\",\"", shared.Select(i => i.Id)) + "\"]}";
                    await storeA.CommitDispatchAsync(b, cursor, [new OutboxItem(b, envelopeId, signedBytes, shared.Count, now)], [], [],
                        [new AuditEntry { Kind = "shared", Actor = a, Subject = b, Decision = "shared", Reason = "bundle", DetailsJson = details }], withheld: 0, ct);
                    return 0;
                });
                var entry = (await Time("A", "read outbox", () => storeA.ReadOutboxAsync(b, 0, 1, ct)))[0];
                var envelope = await Time("A", "seal envelope (HPKE)", () => Task.FromResult(EnvelopeCrypto.Seal(new EnvelopeHeader
                {
                    Version = 1,
                    EnvelopeId = ByteString.CopyFrom(entry.EnvelopeId),
                    Sender = a,
                    Recipient = b,
                    SentAt = Timestamp.FromDateTimeOffset(now),
                }, entry.EnvelopeBytes, kemKey.PublicKey)));
                var wire = await Time("A", "serialize envelope (gRPC message)", () => Task.FromResult(new ExchangeRequest { Envelope = envelope }.ToByteArray()));

                var received = await Time("B", "parse envelope (gRPC message)", () => Task.FromResult(ExchangeRequest.Parser.ParseFrom(wire).Envelope));
                var header = EnvelopeCrypto.ParseHeader(received);
                await Time("B", "replay check (SQLite read)", () => storeB.HasSeenEnvelopeAsync(header.EnvelopeId.Memory, ct));
                var plaintext = await Time("B", "open envelope (HPKE)", () => Task.FromResult(EnvelopeCrypto.Open(received, kemKey).Plaintext));
                var (signed, opened) = await Time("B", "parse bundle", () =>
                {
                    var s = SignedBundle.Parser.ParseFrom(plaintext);
                    return Task.FromResult((s, Bundle.Parser.ParseFrom(s.Bundle)));
                });
                var valid = await Time("B", "verify origin signature", () => Task.FromResult(
                    ContentSignatures.Verify(SignaturePurpose.Bundle, signed.Bundle.Span, signed.Signature.Span, signingKey.PublicKey)));
                if (!valid)
                {
                    throw new InvalidOperationException("stage profile: the bundle signature did not verify");
                }

                var relay = new RelayContext { HopCount = 0, BundleRelayAllowed = false, Origin = a, Sender = a, MaxHops = 0 };
                var (accepted, audit) = await Time("B", "inbound policy (re-validate, trust weight) + audit entry", () =>
                {
                    var acc = new List<Indicator>();
                    foreach (var indicator in opened.Indicators)
                    {
                        acc.Add(inboundEvaluator.Evaluate(indicator, inbound, relay).Indicator!);
                    }

                    List<AuditEntry> aud =
                    [
                        new AuditEntry
                        {
                            Kind = "received",
                            Actor = a,
                            Subject = "bundle:" + Convert.ToHexStringLower(opened.BundleId.Span),
                            Decision = "accepted",
                            Reason = $"origin {a}, hop 0, {acc.Count} indicators",
                            DetailsJson = "{\"indicators\":[\"" + string.Join("\",\"", acc.Select(i => i.Id)) + "\"]}",
                        },
                    ];
                    return Task.FromResult((acc, aud));
                });
                await Time("B", "commit received + audit (SQLite)", () => storeB.CommitReceivedAsync(new ReceivedEnvelope
                {
                    EnvelopeId = header.EnvelopeId.ToByteArray(),
                    Sender = a,
                    Origin = a,
                    BundleId = opened.BundleId.ToByteArray(),
                    Accepted = accepted,
                    Audit = audit,
                }, ct));
                await Time("B", "sign receipt", () => Task.FromResult(ContentSignatures.Sign(SignaturePurpose.Receipt, RandomNumberGenerator.GetBytes(150), receiptKey)));
                await Time("A", "delete acked outbox entry (SQLite)", () => storeA.CompleteDeliveryAsync(b, entry.EnvelopeId, entry.IndicatorCount, delivered: true, ct));
            }

            return [.. order.Select(s => (s, stages[s].Side, stages[s].Cpu, stages[s].Wall))];
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }

    /// <summary>A Markdown table: per stage CPU and wall microseconds per indicator, and the share of the total.</summary>
    public static string Markdown(IReadOnlyList<(string Stage, string Side, TimeSpan Cpu, TimeSpan Wall)> stages, int indicators)
    {
        var totalCpu = stages.Sum(s => s.Cpu.TotalMicroseconds);
        var s = new StringBuilder();
        s.AppendLine("| Stage | Node | CPU µs / indicator | Wall µs / indicator | Share of CPU |");
        s.AppendLine("|---|---|---|---|---|");
        foreach (var (stage, side, cpu, wall) in stages)
        {
            s.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {stage} | {side} | {cpu.TotalMicroseconds / indicators:F1} | {wall.TotalMicroseconds / indicators:F1} | {cpu.TotalMicroseconds / totalCpu:P0} |"));
        }

        var cpuA = stages.Where(x => x.Side == "A").Sum(x => x.Cpu.TotalMicroseconds) / indicators;
        var cpuB = stages.Where(x => x.Side == "B").Sum(x => x.Cpu.TotalMicroseconds) / indicators;
        s.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| **total** | A / B | {cpuA:F1} / {cpuB:F1} | {stages.Where(x => x.Side == "A").Sum(x => x.Wall.TotalMicroseconds) / indicators:F1} / {stages.Where(x => x.Side == "B").Sum(x => x.Wall.TotalMicroseconds) / indicators:F1} | 100% |"));
        return s.ToString();
    }
}
