using BenchmarkDotNet.Attributes;
using CyberCoop.Benchmarks.Shared;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Benchmarks.Crypto;

/// <summary>
/// Envelope seal (KEM encapsulation + AES-256-GCM) and open per suite and bundle size: bundles of 1, 100 and 1,000
/// indicators (about 0.3, 30 and 300 KB; the signature is left out, it adds 64 or 3,373 bytes).
/// </summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private KemKeyPair? _recipient;
    private byte[] _body = [];
    private Envelope? _sealed;
    private readonly EnvelopeHeader _header = new()
    {
        Sender = BenchBundles.Origin,
        Recipient = BenchBundles.Recipient,
        SentAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
    };

    [Params(Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public Suite Suite { get; set; }

    [Params(1, 100, 1_000)]
    public int Indicators { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _recipient = KemKeyPair.Generate(Suite);
        _body = BenchBundles.Serialized(Indicators);
        _sealed = EnvelopeCrypto.Seal(_header, _body, _recipient.PublicKey);
    }

    [GlobalCleanup]
    public void Cleanup() => _recipient?.Dispose();

    [Benchmark]
    public Envelope Seal() => EnvelopeCrypto.Seal(_header, _body, _recipient!.PublicKey);

    [Benchmark]
    public byte[] Open() => EnvelopeCrypto.Open(_sealed!, _recipient!).Plaintext;
}
