namespace CyberCoop.Crypto;

/// <summary>A key or certificate file is missing, unreadable, malformed or does not match its counterpart.</summary>
public sealed class CryptoFileException : CryptoFormatException
{
    /// <summary>Creates the exception for <paramref name="path"/>; the message starts with the path.</summary>
    public CryptoFileException(string path, string problem, Exception? innerException = null)
        : base($"{path}: {problem}", innerException)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The file that was being read or written.</summary>
    public string Path { get; }

    /// <summary>What was wrong with it, without the path.</summary>
    public string Problem { get; }
}
