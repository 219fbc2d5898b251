using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Benchmarks.Crypto;

/// <summary>Envelope seal (KEM encapsulation + AES-256-GCM) and open per suite and body size.</summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private KemKeyPair? _recipient;
    private byte[] _body = [];
    private Envelope? _sealed;
    private readonly EnvelopeHeader _header = new()
    {
        Sender = "spiffe://ee.cybercoop/gateway/tallinn",
        Recipient = "spiffe://fi.cybercoop/gateway/helsinki",
        SentAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
    };

    [Params(Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public Suite Suite { get; set; }

    [Params(1024, 64 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _recipient = KemKeyPair.Generate(Suite);
        _body = RandomNumberGenerator.GetBytes(Size);
        _sealed = EnvelopeCrypto.Seal(_header, _body, _recipient.PublicKey);
    }

    [GlobalCleanup]
    public void Cleanup() => _recipient?.Dispose();

    [Benchmark]
    public Envelope Seal() => EnvelopeCrypto.Seal(_header, _body, _recipient!.PublicKey);

    [Benchmark]
    public byte[] Open() => EnvelopeCrypto.Open(_sealed!, _recipient!).Plaintext;
}
