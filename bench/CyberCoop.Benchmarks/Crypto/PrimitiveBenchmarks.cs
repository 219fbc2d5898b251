using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using CyberCoop.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace CyberCoop.Benchmarks.Crypto;

/// <summary>
/// The primitives compared with <c>openssl speed ed25519</c>, <c>openssl speed ecdhx25519</c> and
/// <c>openssl speed -evp aes-256-gcm</c> (see docs/performance.md).
/// </summary>
[MemoryDiagnoser]
public class PrimitiveBenchmarks
{
    private readonly byte[] _message = RandomNumberGenerator.GetBytes(64);
    private Ed25519PrivateKeyParameters? _signingKey;
    private Ed25519PublicKeyParameters? _verifyKey;
    private byte[] _signature = [];
    private byte[] _x25519Private = [];
    private byte[] _x25519Peer = [];
    private readonly byte[] _shared = new byte[32];
    private AesGcm? _aes;
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _tag = new byte[16];
    private byte[] _plain1K = [];
    private byte[] _cipher1K = [];
    private byte[] _plain16K = [];
    private byte[] _cipher16K = [];

    [GlobalSetup]
    public void Setup()
    {
        // As SigningKeyPair / ContentPublicKey hold them: decoded once, reused per operation.
        var seed = Ed25519.GenerateSeed();
        _signingKey = new Ed25519PrivateKeyParameters(seed);
        _verifyKey = Ed25519.ParsePublicKey(Ed25519.PublicKey(seed));
        _signature = Ed25519.Sign(_signingKey, _message);
        _x25519Private = X25519.GeneratePrivateKey();
        _x25519Peer = X25519.PublicKey(X25519.GeneratePrivateKey());
        _aes = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
        _plain1K = RandomNumberGenerator.GetBytes(1024);
        _cipher1K = new byte[1024];
        _plain16K = RandomNumberGenerator.GetBytes(16 * 1024);
        _cipher16K = new byte[16 * 1024];
    }

    [GlobalCleanup]
    public void Cleanup() => _aes?.Dispose();

    [Benchmark]
    public byte[] Ed25519_sign_64B() => Ed25519.Sign(_signingKey!, _message);

    [Benchmark]
    public bool Ed25519_verify_64B() => Ed25519.Verify(_verifyKey!, _message, _signature);

    [Benchmark]
    public byte[] X25519_agreement()
    {
        X25519.Agree(_x25519Private, _x25519Peer, _shared);
        return _shared;
    }

    [Benchmark]
    public byte[] Aes256Gcm_encrypt_1KiB()
    {
        _aes!.Encrypt(_nonce, _plain1K, _cipher1K, _tag);
        return _cipher1K;
    }

    [Benchmark]
    public byte[] Aes256Gcm_encrypt_16KiB()
    {
        _aes!.Encrypt(_nonce, _plain16K, _cipher16K, _tag);
        return _cipher16K;
    }
}
