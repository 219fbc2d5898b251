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

    /// <summary>The key of <paramref name="id"/>: a 16-byte array for a canonical UUID, else the id string.</summary>
    public static object Of(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!IsCanonical(id))
        {
            return id;
        }

        Span<char> hex = stackalloc char[32];
        id.AsSpan(0, 8).CopyTo(hex);
        id.AsSpan(9, 4).CopyTo(hex[8..]);
        id.AsSpan(14, 4).CopyTo(hex[12..]);
        id.AsSpan(19, 4).CopyTo(hex[16..]);
        id.AsSpan(24, 12).CopyTo(hex[20..]);
        return Convert.FromHexString(hex);
    }

    private static bool IsCanonical(string id)
    {
        if (id.Length != 36)
        {
            return false;
        }

        for (var i = 0; i < 36; i++)
        {
            var c = id[i];
            var ok = i is 8 or 13 or 18 or 23 ? c == '-' : char.IsAsciiDigit(c) || c is >= 'a' and <= 'f';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
