using System.Text;

namespace CyberCoop.Crypto;

/// <summary>Atomic file writes; secret files are created with mode 0600 before any byte is written.</summary>
internal static class SecureFile
{
    public static void WriteAllText(string path, string content, bool secret)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        try
        {
            WriteAllBytes(path, bytes, secret);
        }
        finally
        {
            if (secret)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
            }
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content, bool secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)
            ?? throw new CryptoFileException(path, "has no parent directory");
        if (!Directory.Exists(directory))
        {
            throw new CryptoFileException(path, $"directory '{directory}' does not exist");
        }

        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new CryptoFileException(path, "cannot be written: " + ex.Message, ex);
        }
    }

    public static string ReadAllText(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return File.ReadAllText(path, Encoding.UTF8);
        }
        catch (FileNotFoundException ex)
        {
            throw new CryptoFileException(path, $"{what} file not found", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new CryptoFileException(path, $"{what} file not found (directory missing)", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CryptoFileException(path, $"{what} file cannot be read: {ex.Message}", ex);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // best effort: the temp file name is random and never read
        }
        catch (UnauthorizedAccessException)
        {
            // best effort
        }
    }
}
