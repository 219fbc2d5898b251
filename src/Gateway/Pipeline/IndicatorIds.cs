using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Pipeline;

/// <summary>
/// Deterministic indicator ids: UUIDv5 (RFC 9562 section 5.5, SHA-1 based as the RFC defines it) of
/// "&lt;type-name&gt;:&lt;canonical value&gt;" in the CyberCoop namespace, lower-case "D" text form.
/// The same observable normalized by any node yields the same id, so records merge instead of duplicating.
/// </summary>
internal static class IndicatorIds
{
    /// <summary>
    /// The CyberCoop namespace UUID. Generated once at random (2026-11-23) and fixed forever: changing it
    /// changes every indicator id in every node. Also published in docs/protocol.md.
    /// </summary>
    public static readonly Guid Namespace = new("357d0532-a004-49c9-a824-682ad4309b81");

    /// <summary>Computes the id of an already canonical value.</summary>
    public static string Compute(IndicatorType type, string canonicalValue)
    {
        ArgumentNullException.ThrowIfNull(canonicalValue);
        var typeName = IndicatorTypeNames.ToName(type);
        var length = 16 + typeName.Length + 1 + Encoding.UTF8.GetByteCount(canonicalValue);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            // namespace (16 bytes, network order) || "<type-name>:" || UTF-8 value, hashed in one shot.
            var input = rented.AsSpan(0, length);
            WriteNamespace(Namespace, input);
            var written = 16 + Encoding.ASCII.GetBytes(typeName, input[16..]);
            input[written++] = (byte)':';
            Encoding.UTF8.GetBytes(canonicalValue, input[written..]);
            return FromHash(input).ToString("D");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>UUIDv5 of <paramref name="name"/> in <paramref name="namespaceId"/> (RFC 9562 section 5.5).</summary>
    public static Guid ComputeV5(Guid namespaceId, ReadOnlySpan<byte> name)
    {
        var input = new byte[16 + name.Length];
        WriteNamespace(namespaceId, input);
        name.CopyTo(input.AsSpan(16));
        return FromHash(input);
    }

    private static void WriteNamespace(Guid namespaceId, Span<byte> destination)
    {
        if (!namespaceId.TryWriteBytes(destination[..16], bigEndian: true, out _))
        {
            throw new InvalidOperationException("could not encode the namespace UUID");
        }
    }

    private static Guid FromHash(ReadOnlySpan<byte> input)
    {
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // RFC 9562 defines UUIDv5 with SHA-1; it is a name-to-id mapping, not a security function.
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // variant 10xx (RFC 9562)
        return new Guid(hash[..16], bigEndian: true);
    }
}
