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
        var length = EntryContext.Length + 16 + (7 * 4) + prevHash.Length +
            Encoding.UTF8.GetByteCount(kind) + Encoding.UTF8.GetByteCount(actor) + Encoding.UTF8.GetByteCount(subject) +
            Encoding.UTF8.GetByteCount(decision) + Encoding.UTF8.GetByteCount(reason) + Encoding.UTF8.GetByteCount(details);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var buffer = rented.AsSpan(0, length);
            EntryContext.CopyTo(buffer);
            var at = EntryContext.Length;
            BinaryPrimitives.WriteInt64BigEndian(buffer[at..], seq);
            BinaryPrimitives.WriteInt64BigEndian(buffer[(at + 8)..], atMs);
            at += 16;
            at = WriteText(buffer, at, kind);
            at = WriteText(buffer, at, actor);
            at = WriteText(buffer, at, subject);
            at = WriteText(buffer, at, decision);
            at = WriteText(buffer, at, reason);
            at = WriteText(buffer, at, details);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[at..], (uint)prevHash.Length);
            prevHash.CopyTo(buffer[(at + 4)..]);
            return SHA256.HashData(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static byte[] CheckpointMessage(long seq, ReadOnlySpan<byte> hash)
    {
        var message = new byte[CheckpointContext.Length + 8 + hash.Length];
        CheckpointContext.CopyTo(message, 0);
        BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(CheckpointContext.Length), seq);
        hash.CopyTo(message.AsSpan(CheckpointContext.Length + 8));
        return message;
    }

    private static int WriteText(Span<byte> buffer, int at, string text)
    {
        var written = Encoding.UTF8.GetBytes(text, buffer[(at + 4)..]);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[at..], (uint)written);
        return at + 4 + written;
    }
}
