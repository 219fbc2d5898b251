namespace CyberCoop.Crypto;

/// <summary>An envelope or envelope header is malformed (truncated, unknown version or suite, bad field length).</summary>
public sealed class EnvelopeFormatException : CryptoFormatException
{
    /// <summary>Creates the exception with a message naming the problem.</summary>
    public EnvelopeFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message naming the problem and the underlying cause.</summary>
    public EnvelopeFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
