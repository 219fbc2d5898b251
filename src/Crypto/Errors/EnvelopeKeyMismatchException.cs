using System.Security.Cryptography;

namespace CyberCoop.Crypto;

/// <summary>
/// The envelope was sealed to a different key or suite than the one offered for opening.
/// Raised before any decryption is attempted.
/// </summary>
public sealed class EnvelopeKeyMismatchException : CryptographicException
{
    /// <summary>Creates the exception with a message naming the mismatch.</summary>
    public EnvelopeKeyMismatchException(string message)
        : base(message)
    {
    }
}
