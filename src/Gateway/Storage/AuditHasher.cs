using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Canonical encoding and hashes of the audit chain.
/// Entry hash = SHA-256( "cybercoop/v1/audit-entry" || 0x00 || seq:int64-BE || at_unix_ms:int64-BE
///   || field(kind) || field(actor) || field(subject) || field(decision) || field(reason) || field(details_json)
///   || field(prev_hash) ), where field(x) = length:uint32-BE || bytes (UTF-8 for text). The length prefixes make
/// the encoding injective: no two different entries encode alike. The first entry's prev_hash is 32 zero bytes.
/// Checkpoint message = "cybercoop/v1/audit-checkpoint" || 0x00 || seq:int64-BE || hash(32).
/// </summary>
internal static class AuditHasher
{
    public const int HashSize = 32;

    private static readonly byte[] EntryContext = Encoding.ASCII.GetBytes("cybercoop/v1/audit-entry\0");
    private static readonly byte[] CheckpointContext = Encoding.ASCII.GetBytes("cybercoop/v1/audit-checkpoint\0");

    /// <summary>The prev_hash of the first entry.</summary>
    public static ReadOnlyMemory<byte> Genesis { get; } = new byte[HashSize];

    public static byte[] HashEntry(long seq, long atMs, string kind, string actor, string subject, string decision, string reason, string details, ReadOnlySpan<byte> prevHash)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        sha.AppendData(EntryContext);
        BinaryPrimitives.WriteInt64BigEndian(number, seq);
        sha.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, atMs);
        sha.AppendData(number);
        AppendText(sha, kind);
        AppendText(sha, actor);
        AppendText(sha, subject);
        AppendText(sha, decision);
        AppendText(sha, reason);
        AppendText(sha, details);
        AppendField(sha, prevHash);
        return sha.GetHashAndReset();
    }

    public static byte[] CheckpointMessage(long seq, ReadOnlySpan<byte> hash)
    {
        var message = new byte[CheckpointContext.Length + 8 + hash.Length];
        CheckpointContext.CopyTo(message, 0);
        BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(CheckpointContext.Length), seq);
        hash.CopyTo(message.AsSpan(CheckpointContext.Length + 8));
        return message;
    }

    private static void AppendText(IncrementalHash sha, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(text, rented);
            AppendField(sha, rented.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void AppendField(IncrementalHash sha, ReadOnlySpan<byte> bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
        sha.AppendData(length);
        sha.AppendData(bytes);
    }
}
