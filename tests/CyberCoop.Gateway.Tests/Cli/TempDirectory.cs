namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>A fresh folder under the system temp folder, deleted on dispose. Kept short for Unix socket paths.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("cc-cli-").FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>The Unix permission bits of a file (0600 is UserRead | UserWrite).</summary>
    public static UnixFileMode ModeOf(string path) =>
        OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(path);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process still holding a file; the OS temp cleaner gets it.
        }
    }
}
