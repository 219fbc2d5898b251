using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CyberCoop.Crypto;

/// <summary>
/// An HPKE encryption context (RFC 9180 §5.2): sequence-numbered Seal (sender) or Open (recipient), and
/// Export (both). Not thread-safe; dispose to clear the key, base nonce and exporter secret.
/// </summary>
internal sealed class HpkeContext : IDisposable
{
    private const int NonceLength = 12;
    private const int TagLength = 16;

    private readonly AesGcm _aead;
    private readonly byte[] _key;
    private readonly byte[] _baseNonce;
    private readonly byte[] _exporterSecret;
    private readonly HpkeLabels _labels;
    private readonly bool _isSender;
    private ulong _sequence;
    private bool _disposed;

    internal HpkeContext(HpkeLabels labels, byte[] key, byte[] baseNonce, byte[] exporterSecret, bool isSender)
    {
        _labels = labels;
        _key = key;
        _baseNonce = baseNonce;
        _exporterSecret = exporterSecret;
        _isSender = isSender;
        _aead = new AesGcm(key, TagLength);
    }

    /// <summary>Number of messages sealed or opened so far.</summary>
    public ulong Sequence => _sequence;

    internal ReadOnlySpan<byte> Key => _key;

    internal ReadOnlySpan<byte> BaseNonce => _baseNonce;

    internal ReadOnlySpan<byte> ExporterSecret => _exporterSecret;

    /// <summary>Encrypts the next message (sender contexts only); returns ciphertext || tag.</summary>
    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_isSender)
        {
            throw new InvalidOperationException("this HPKE context was set up for a recipient and can only open");
        }

        var output = new byte[plaintext.Length + TagLength];
        Span<byte> nonce = stackalloc byte[NonceLength];
        ComputeNonce(nonce);
        _aead.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), aad);
        IncrementSequence();
        return output;
    }

    /// <summary>
    /// Decrypts the next message (recipient contexts only). Throws <see cref="CryptographicException"/>
    /// (<see cref="AuthenticationTagMismatchException"/>) on any tampering; never returns partial plaintext.
    /// </summary>
    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_isSender)
        {
            throw new InvalidOperationException("this HPKE context was set up for a sender and can only seal");
        }

        if (ciphertext.Length < TagLength)
        {
            throw new AuthenticationTagMismatchException($"HPKE ciphertext is {ciphertext.Length} bytes, shorter than the {TagLength}-byte tag");
        }

        var plaintext = new byte[ciphertext.Length - TagLength];
        Span<byte> nonce = stackalloc byte[NonceLength];
        ComputeNonce(nonce);
        try
        {
            _aead.Decrypt(nonce, ciphertext[..plaintext.Length], ciphertext[plaintext.Length..], plaintext, aad);
        }
        catch (CryptographicException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw;
        }

        IncrementSequence();
        return plaintext;
    }

    /// <summary>Secret export (RFC 9180 §5.3): LabeledExpand(exporter_secret, "sec", exporterContext, length).</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _labels.LabeledExpand(_exporterSecret, "sec"u8, exporterContext, length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _aead.Dispose();
        CryptographicOperations.ZeroMemory(_key);
        CryptographicOperations.ZeroMemory(_baseNonce);
        CryptographicOperations.ZeroMemory(_exporterSecret);
    }

    private void ComputeNonce(Span<byte> nonce)
    {
        _baseNonce.CopyTo(nonce);
        Span<byte> seq = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(seq, _sequence);
        for (var i = 0; i < 8; i++)
        {
            nonce[NonceLength - 8 + i] ^= seq[i];
        }
    }

    private void IncrementSequence()
    {
        if (_sequence == ulong.MaxValue)
        {
            throw new CryptographicException("HPKE message limit reached for this context");
        }

        _sequence++;
    }
}
