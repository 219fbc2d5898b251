using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CyberCoop.Agent.Tailing;

/// <summary>
/// The few file-system calls .NET does not expose: the (device, inode) identity of an open file
/// (Linux statx) and fsync of a directory after a rename. Elsewhere identity is (0, 0) and the
/// agent relies on the content fingerprint alone.
/// </summary>
internal static partial class NativeFile
{
    private const int AtEmptyPath = 0x1000;
    private const int AtFdCwd = -100;
    private const uint StatxIno = 0x100;
    private const int StatxBufferSize = 256;
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000;

    /// <summary>Identity of an open file, or (0, 0) when unknown.</summary>
    public static FileIdentity Identify(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!OperatingSystem.IsLinux())
        {
            return default;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            Span<byte> buffer = stackalloc byte[StatxBufferSize];
            return Statx((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath, buffer) ? Parse(buffer) : default;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Identity of the file a path names now, or (0, 0) when it is missing or unknown.</summary>
    public static FileIdentity Identify(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!OperatingSystem.IsLinux())
        {
            return default;
        }

        Span<byte> buffer = stackalloc byte[StatxBufferSize];
        return Statx(AtFdCwd, path, 0, buffer) ? Parse(buffer) : default;
    }

    /// <summary>Makes a rename inside <paramref name="directory"/> durable (no-op where unsupported).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, ORdOnly | ODirectory);
        if (fd < 0)
        {
            return;
        }

        _ = Fsync(fd);
        _ = Close(fd);
    }

    private static bool Statx(int dirFd, string path, int flags, Span<byte> buffer)
    {
        try
        {
            return StatxNative(dirFd, path, flags, StatxIno, ref MemoryMarshal.GetReference(buffer)) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    private static FileIdentity Parse(ReadOnlySpan<byte> b)
    {
        // struct statx: stx_ino at 32, stx_dev_major at 136, stx_dev_minor at 140 (stable kernel ABI).
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]);
        var major = BinaryPrimitives.ReadUInt32LittleEndian(b[136..]);
        var minor = BinaryPrimitives.ReadUInt32LittleEndian(b[140..]);
        if (!BitConverter.IsLittleEndian)
        {
            inode = BinaryPrimitives.ReadUInt64BigEndian(b[32..]);
            major = BinaryPrimitives.ReadUInt32BigEndian(b[136..]);
            minor = BinaryPrimitives.ReadUInt32BigEndian(b[140..]);
        }

        return new FileIdentity(((ulong)major << 32) | minor, inode);
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatxNative(int dirFd, string path, int flags, uint mask, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

/// <summary>Device and inode of a file; (0, 0) when the platform does not tell.</summary>
/// <param name="Device">Device number (major &lt;&lt; 32 | minor).</param>
/// <param name="Inode">Inode number.</param>
internal readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    /// <summary>True when the identity is known.</summary>
    public bool IsKnown => Inode != 0;
}
