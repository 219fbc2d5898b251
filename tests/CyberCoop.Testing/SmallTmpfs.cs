using System.Globalization;

namespace CyberCoop.Testing;

/// <summary>
/// A small tmpfs mounted on a temp folder for a test that fills a real file system (the kernel answers ENOSPC), grown
/// or shrunk in place while it is in use, unmounted on dispose. Needs root on Linux (CAP_SYS_ADMIN); the CI container
/// runs as root, and the message says so otherwise.
/// </summary>
internal sealed class SmallTmpfs : IAsyncDisposable
{
    private SmallTmpfs(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>
    /// Mounts a tmpfs of <paramref name="megabytes"/> MB on a new temp folder named after <paramref name="purpose"/>,
    /// owned like <paramref name="ownerLike"/> when given (e.g. a PostgreSQL data directory, so the server may write there).
    /// </summary>
    public static async Task<SmallTmpfs> MountAsync(string purpose, int megabytes, string? ownerLike = null)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            throw new InvalidOperationException(
                $"this test fills a real file system ({purpose}): it mounts a small tmpfs, which needs root on Linux (CAP_SYS_ADMIN); .ci/run runs as root");
        }

        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cybercoop-{purpose}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(path);
        await PostgresCluster.RunAsync("mount", ["-t", "tmpfs", "-o", Size(megabytes), "tmpfs", path]).ConfigureAwait(false);
        if (ownerLike is not null)
        {
            await PostgresCluster.RunAsync("chown", ["--reference=" + ownerLike, path]).ConfigureAwait(false);
        }

        return new SmallTmpfs(path);
    }

    /// <summary>Bytes in use (df).</summary>
    public long UsedBytes()
    {
        var info = new DriveInfo(Path);
        return info.TotalSize - info.AvailableFreeSpace;
    }

    /// <summary>Bytes it holds in all.</summary>
    public long SizeBytes() => new DriveInfo(Path).TotalSize;

    /// <summary>Whether more than nine tenths of it are in use.</summary>
    public bool IsFull() => UsedBytes() > SizeBytes() * 9 / 10;

    /// <summary>Grows (or shrinks) it in place: the space comes back while its users run.</summary>
    public Task ResizeAsync(int megabytes) => PostgresCluster.RunAsync("mount", ["-o", "remount," + Size(megabytes), Path]);

    public async ValueTask DisposeAsync()
    {
        await PostgresCluster.RunAsync("umount", ["-l", Path]).ConfigureAwait(false);
        Directory.Delete(Path);
    }

    private static string Size(int megabytes) => string.Create(CultureInfo.InvariantCulture, $"size={megabytes}m");
}
