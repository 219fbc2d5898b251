using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf.WellKnownTypes;
using Org.BouncyCastle.Crypto.Parameters;

namespace CyberCoop.Benchmarks.Crypto;

/// <summary>
/// Measures operations per second of user CPU time (like <c>openssl speed</c>, which reports user time
/// unless given <c>-elapsed</c>), single-threaded, after a warm-up. Prints a markdown table.
/// </summary>
internal static class CpuTimeComparison
{
    public static void Run(double seconds)
    {
        var message64 = RandomNumberGenerator.GetBytes(64);
        var seed = Ed25519.GenerateSeed();
        var signingKey = new Ed25519PrivateKeyParameters(seed);
        var verifyKey = Ed25519.ParsePublicKey(Ed25519.PublicKey(seed));
        var signature = Ed25519.Sign(signingKey, message64);
        var xPrivate = X25519.GeneratePrivateKey();
        var xPeer = X25519.PublicKey(X25519.GeneratePrivateKey());
        var shared = new byte[32];
        using var aes = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
        var nonce = new byte[12];
        var tag = new byte[16];
        var plain1K = RandomNumberGenerator.GetBytes(1024);
        var out1K = new byte[1024];
        var plain16K = RandomNumberGenerator.GetBytes(16384);
        var out16K = new byte[16384];

        var rows = new List<(string Name, Action Op)>
        {
            ("Ed25519 sign (64 B)", () => Ed25519.Sign(signingKey, message64)),
            ("Ed25519 verify (64 B)", () => Ed25519.Verify(verifyKey, message64, signature)),
            ("X25519 agreement", () => X25519.Agree(xPrivate, xPeer, shared)),
            ("AES-256-GCM encrypt 1 KiB", () => aes.Encrypt(nonce, plain1K, out1K, tag)),
            ("AES-256-GCM encrypt 16 KiB", () => aes.Encrypt(nonce, plain16K, out16K, tag)),
        };

        foreach (var suite in new[] { Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65 })
        {
            var name = suite == Suite.X25519Aes256GcmEd25519 ? "classical" : "hybrid";
            var key = SigningKeyPair.Generate(suite);
            var kem = KemKeyPair.Generate(suite);
            var header = new EnvelopeHeader { Sender = "spiffe://ee.cybercoop/gateway/a", Recipient = "spiffe://fi.cybercoop/gateway/b", SentAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch) };
            foreach (var size in new[] { 1024, 65536, 300 * 1024 })
            {
                var body = RandomNumberGenerator.GetBytes(size);
                var sig = ContentSignatures.Sign(SignaturePurpose.Bundle, body, key);
                var envelope = EnvelopeCrypto.Seal(header, body, kem.PublicKey);
                var label = size / 1024 + " KiB";
                rows.Add(($"{name} sign {label}", () => ContentSignatures.Sign(SignaturePurpose.Bundle, body, key)));
                rows.Add(($"{name} verify {label}", () => ContentSignatures.Verify(SignaturePurpose.Bundle, body, sig, key.PublicKey)));
                rows.Add(($"{name} seal {label}", () => EnvelopeCrypto.Seal(header, body, kem.PublicKey)));
                rows.Add(($"{name} open {label}", () => EnvelopeCrypto.Open(envelope, kem)));
            }
        }

        Console.WriteLine("| operation | ops per CPU-second | µs per op (CPU) |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var (name, op) in rows)
        {
            var rate = Measure(op, seconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {rate:F0} | {1e6 / rate:F1} |"));
        }
    }

    private static double Measure(Action op, double seconds)
    {
        var process = Process.GetCurrentProcess();
        var warmupEnd = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2;
        while (Stopwatch.GetTimestamp() < warmupEnd)
        {
            op();
        }

        process.Refresh();
        var start = process.UserProcessorTime;
        long count = 0;
        TimeSpan used;
        do
        {
            for (var i = 0; i < 16; i++)
            {
                op();
            }

            count += 16;
            process.Refresh();
            used = process.UserProcessorTime - start;
        }
        while (used.TotalSeconds < seconds);

        return count / used.TotalSeconds;
    }
}
