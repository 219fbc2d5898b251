namespace CyberCoop.Testing;

/// <summary>
/// A fresh folder under the system temp folder, deleted on dispose. The name is kept short: Unix socket paths (the
/// gateway's admin socket lives in its folder) may not exceed 107 bytes.
/// </summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "cc-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>A path inside the folder from several parts.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>The Unix permission bits of a file (0600 is UserRead | UserWrite); on Windows, which has none, 0600.</summary>
    public static UnixFileMode ModeOf(string path) =>
        OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : System.IO.File.GetUnixFileMode(path);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process still holding a file (a killed child's last write): the OS temp cleaner gets it.
        }
        catch (UnauthorizedAccessException)
        {
            // As above, for a file a test made read-only.
        }
    }
}
