using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace CyberCoop.Agent.Tailing;

/// <summary>
/// How far one file has been read: its identity (device, inode), a fingerprint of its first bytes
/// (so a reused inode is not mistaken for the old file), the offset of the next unread line and
/// the number of lines before it.
/// </summary>
internal sealed record FileCheckpoint
{
    /// <summary>Bytes covered by a full fingerprint.</summary>
    public const int FingerprintBytes = 1024;

    /// <summary>Source name.</summary>
    public required string Source { get; init; }

    /// <summary>Path the file had when last read.</summary>
    public required string Path { get; init; }

    /// <summary>Device number.</summary>
    public ulong Device { get; init; }

    /// <summary>Inode number.</summary>
    public ulong Inode { get; init; }

    /// <summary>Hex SHA-256 (first 16 bytes) of the first <see cref="FingerprintLength"/> bytes.</summary>
    public string Fingerprint { get; init; } = string.Empty;

    /// <summary>How many leading bytes the fingerprint covers.</summary>
    public int FingerprintLength { get; init; }

    /// <summary>Offset of the next unread line.</summary>
    public long Offset { get; init; }

    /// <summary>Lines before <see cref="Offset"/>.</summary>
    public long Line { get; init; }

    /// <summary>MISP feed over HTTPS, the manifest's entry only: the ETag of the manifest last read completely.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? ETag { get; init; }

    /// <summary>MISP feed over HTTPS, the manifest's entry only: its Last-Modified (HTTP date) when last read completely.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? LastModified { get; init; }

    /// <summary>True when the file is finished (rotated away and read to its end): drop it from the state.</summary>
    public bool Finished { get; init; }

    /// <summary>State key: source and identity, or source and path when identity is unknown.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Key => MakeKey(Source, new FileIdentity(Device, Inode), Path);

    /// <summary>Builds a state key.</summary>
    public static string MakeKey(string source, FileIdentity identity, string path) =>
        identity.IsKnown ? $"{source}|{identity.Device}:{identity.Inode}" : $"{source}|path:{path}";

    /// <summary>Fingerprint of the first bytes of an open file (up to <see cref="FingerprintBytes"/>).</summary>
    public static (string Hex, int Length) ComputeFingerprint(SafeFileHandle handle, int maxLength = FingerprintBytes)
    {
        ArgumentNullException.ThrowIfNull(handle);
        Span<byte> buffer = stackalloc byte[FingerprintBytes];
        var want = Math.Min(maxLength, FingerprintBytes);
        var total = 0;
        while (total < want)
        {
            var n = RandomAccess.Read(handle, buffer[total..want], total);
            if (n <= 0)
            {
                break;
            }

            total += n;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer[..total], hash);
        return (Convert.ToHexStringLower(hash[..16]), total);
    }

    /// <summary>True when the open file still starts with the bytes this checkpoint fingerprinted.</summary>
    public bool SameContent(SafeFileHandle handle)
    {
        if (FingerprintLength == 0)
        {
            return true;
        }

        var (hex, length) = ComputeFingerprint(handle, FingerprintLength);
        return length == FingerprintLength && string.Equals(hex, Fingerprint, StringComparison.Ordinal);
    }
}
