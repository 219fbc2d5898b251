using BenchmarkDotNet.Attributes;
using CyberCoop.Benchmarks.Shared;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;

namespace CyberCoop.Benchmarks.Crypto;

/// <summary>
/// Bundle signing and verification (the SHA-512 pre-hash of the body included) per suite and bundle size: serialized
/// bundles of 1, 100 and 1,000 indicators (about 0.3, 30 and 300 KB).
/// </summary>
[MemoryDiagnoser]
public class ContentSignatureBenchmarks
{
    private SigningKeyPair? _key;
    private byte[] _body = [];
    private byte[] _signature = [];

    [Params(Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public Suite Suite { get; set; }

    [Params(1, 100, 1_000)]
    public int Indicators { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _key = SigningKeyPair.Generate(Suite);
        _body = BenchBundles.Serialized(Indicators);
        _signature = ContentSignatures.Sign(SignaturePurpose.Bundle, _body, _key);
    }

    [GlobalCleanup]
    public void Cleanup() => _key?.Dispose();

    [Benchmark]
    public byte[] Sign() => ContentSignatures.Sign(SignaturePurpose.Bundle, _body, _key!);

    [Benchmark]
    public bool Verify() => ContentSignatures.Verify(SignaturePurpose.Bundle, _body, _signature, _key!.PublicKey);
}
