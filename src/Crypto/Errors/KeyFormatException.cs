namespace CyberCoop.Crypto;

/// <summary>A key, encapsulated key or signature encoding is malformed (wrong length, unknown algorithm, invalid encoding).</summary>
public sealed class KeyFormatException : CryptoFormatException
{
    /// <summary>Creates the exception with a message naming the problem.</summary>
    public KeyFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message naming the problem and the underlying cause.</summary>
    public KeyFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
