using System.Buffers;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The indexed lookup key of an indicator id (schema version 6): the 16 bytes of the UUID for an id in canonical form
/// (36 characters, lower-case hex, dashes at 8, 13, 18 and 23: what <see cref="Pipeline.IndicatorIds"/> produces and
/// every validator requires), and the id text itself for anything else. The mapping is one-to-one (SQLite never
/// considers a BLOB equal to a TEXT), so the unique index on the key enforces the uniqueness of the id, with index
/// entries less than half the size of the 36-character text (fewer index pages dirtied per random insert).
/// </summary>
internal static class IndicatorKey
{
    /// <summary>
    /// The same mapping in SQL for an expression <c>x</c> (schema migration, joins from tables that hold the text id):
    /// the GLOB accepts exactly the canonical form.
    /// </summary>
    public static string Sql(string x) =>
        $"CASE WHEN length({x}) = 36 AND {x} GLOB '{CanonicalGlob}' THEN unhex(replace({x}, '-', '')) ELSE {x} END";

    private static readonly string CanonicalGlob = string.Concat(
        Enumerable.Range(0, 36).Select(i => i is 8 or 13 or 18 or 23 ? "-" : "[0-9a-f]"));

    /// <summary>Lower-case hex digits, the only characters of a canonical id besides its four dashes.</summary>
    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>The key of <paramref name="id"/>: a 16-byte array for a canonical UUID, else the id string.</summary>
    public static object Of(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-')
        {
            return id;
        }

        var key = new byte[16];
        return Hex(id.AsSpan(0, 8), key.AsSpan(0, 4))
            && Hex(id.AsSpan(9, 4), key.AsSpan(4, 2))
            && Hex(id.AsSpan(14, 4), key.AsSpan(6, 2))
            && Hex(id.AsSpan(19, 4), key.AsSpan(8, 2))
            && Hex(id.AsSpan(24, 12), key.AsSpan(10, 6))
            ? key
            : id;
    }

    private static bool Hex(ReadOnlySpan<char> digits, Span<byte> destination) =>
        !digits.ContainsAnyExcept(LowerHex)
        && Convert.FromHexString(digits, destination, out _, out var written) == System.Buffers.OperationStatus.Done
        && written == destination.Length;
}
