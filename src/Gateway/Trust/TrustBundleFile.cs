using CyberCoop.Crypto;
using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// A root-signed trust bundle on disk: binary protobuf <see cref="SignedTrustBundle"/> (<c>trust-bundle.pb</c>
/// beside the domain's root). Read with a size limit; written atomically (temporary file, fsync, rename), so a
/// reader sees the old or the new bundle, never half of one.
/// </summary>
internal static class TrustBundleFile
{
    /// <summary>Conventional file name, beside root.crt.</summary>
    public const string DefaultName = "trust-bundle.pb";

    /// <summary>Reads and parses a bundle file; <see cref="InvalidDataException"/> or <see cref="IOException"/> naming the problem.</summary>
    public static SignedTrustBundle Read(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"trust bundle '{full}' does not exist", full);
        }

        if (info.Length > TrustBundleVerifier.MaxBundleBytes * 2L)
        {
            throw new InvalidDataException($"trust bundle '{full}' is {info.Length} bytes; the limit is {TrustBundleVerifier.MaxBundleBytes * 2L}");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"trust bundle '{full}' cannot be read: {ex.Message}", ex);
        }

        return Parse(bytes, $"'{full}'");
    }

    /// <summary>Parses the bytes of a bundle file (read from disk or uploaded); <see cref="InvalidDataException"/> naming <paramref name="source"/>.</summary>
    public static SignedTrustBundle Parse(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length > TrustBundleVerifier.MaxBundleBytes * 2L)
        {
            throw new InvalidDataException($"trust bundle {source} is {bytes.Length} bytes; the limit is {TrustBundleVerifier.MaxBundleBytes * 2L}");
        }

        try
        {
            var signed = SignedTrustBundle.Parser.ParseFrom(bytes);
            if (signed.Bundle.IsEmpty)
            {
                throw new InvalidDataException($"{source} is not a signed trust bundle (no bundle bytes)");
            }

            return signed;
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"{source} is not a signed trust bundle: {ex.Message}", ex);
        }
    }

    /// <summary>Writes <paramref name="signed"/> atomically (mode 0644: a bundle is public).</summary>
    public static void Write(string path, SignedTrustBundle signed)
    {
        ArgumentNullException.ThrowIfNull(signed);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"folder '{directory}' for the trust bundle does not exist");
        }

        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                signed.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Best effort; the temporary name is unique.
            }

            throw;
        }
    }
}
