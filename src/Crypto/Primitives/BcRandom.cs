using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;

namespace CyberCoop.Crypto;

/// <summary>BouncyCastle randomness backed directly by the OS CSPRNG (System.Security.Cryptography.RandomNumberGenerator); thread-safe.</summary>
internal static class BcRandom
{
    public static SecureRandom Instance { get; } = new(new CryptoApiRandomGenerator());
}
