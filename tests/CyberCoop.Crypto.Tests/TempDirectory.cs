namespace CyberCoop.Crypto.Tests;

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("cybercoop-crypto-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    /// <summary>Unix mode of a file; on Windows (no modes) reports 0600 so the assertion is about Unix only.</summary>
    public static UnixFileMode Mode(string path) =>
        OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : System.IO.File.GetUnixFileMode(path);
}
