using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;

namespace CyberCoop.Crypto.Tests;

/// <summary>A BouncyCastle random source that returns fixed bytes, for known-answer tests of randomized algorithms.</summary>
internal sealed class FixedRandom(byte[] bytes) : SecureRandom(new CryptoApiRandomGenerator())
{
    private int _offset;

    public override void NextBytes(byte[] buf) => NextBytes(buf.AsSpan());

    public override void NextBytes(byte[] buf, int off, int len) => NextBytes(buf.AsSpan(off, len));

    public override void NextBytes(Span<byte> buffer)
    {
        if (_offset + buffer.Length > bytes.Length)
        {
            throw new InvalidOperationException("fixed randomness exhausted");
        }

        bytes.AsSpan(_offset, buffer.Length).CopyTo(buffer);
        _offset += buffer.Length;
    }
}
