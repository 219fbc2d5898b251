using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;

namespace CyberCoop.Benchmarks.Crypto;

/// <summary>Bundle signing and verification (the SHA-512 pre-hash of the body included) per suite and body size.</summary>
[MemoryDiagnoser]
public class ContentSignatureBenchmarks
{
    private SigningKeyPair? _key;
    private byte[] _body = [];
    private byte[] _signature = [];

    [Params(Suite.X25519Aes256GcmEd25519, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65)]
    public Suite Suite { get; set; }

    [Params(1024, 64 * 1024, 300 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _key = SigningKeyPair.Generate(Suite);
        _body = RandomNumberGenerator.GetBytes(Size);
        _signature = ContentSignatures.Sign(SignaturePurpose.Bundle, _body, _key);
    }

    [GlobalCleanup]
    public void Cleanup() => _key?.Dispose();

    [Benchmark]
    public byte[] Sign() => ContentSignatures.Sign(SignaturePurpose.Bundle, _body, _key!);

    [Benchmark]
    public bool Verify() => ContentSignatures.Verify(SignaturePurpose.Bundle, _body, _signature, _key!.PublicKey);
}
