namespace CyberCoop.Crypto;

/// <summary>
/// Base class for every "the input bytes or text are malformed" error raised by CyberCoop.Crypto.
/// The message always names what was wrong; it never contains secret material.
/// </summary>
public class CryptoFormatException : FormatException
{
    /// <summary>Creates the exception with a message naming the problem.</summary>
    public CryptoFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message naming the problem and the underlying cause.</summary>
    public CryptoFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
