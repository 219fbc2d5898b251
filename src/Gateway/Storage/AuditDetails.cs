using System.Buffers;
using System.Text;
using System.Text.Json;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>The <c>details_json</c> of audit entries that cover a set of indicators.</summary>
/// <remarks>
/// Written for every bundle shared, withheld or received, with up to a thousand ids each. Ids are normally UUID text,
/// which JSON writes unchanged, so the common case is one pass into one string; any id that would need escaping
/// sends the whole entry through <see cref="Utf8JsonWriter"/>. Both paths produce the same text
/// (AuditDetailsTests compares them).
/// </remarks>
internal static class AuditDetails
{
    private const string Prefix = "{\"indicators\":[";

    /// <summary>Characters that <see cref="Utf8JsonWriter"/>'s default encoder writes unescaped and that need none.</summary>
    private static readonly SearchValues<char> s_plain =
        SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.:_");

    /// <summary><c>{"indicators":["id",...]}</c>, properly escaped.</summary>
    public static string Indicators(IEnumerable<string> ids) => Indicators(ids, null, null);

    /// <summary><c>{"indicators":["id",...]}</c> with the ids of <paramref name="indicators"/>, properly escaped.</summary>
    public static string Indicators(IReadOnlyList<Indicator> indicators)
    {
        ArgumentNullException.ThrowIfNull(indicators);
        var ids = new string[indicators.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = indicators[i].Id;
        }

        return Indicators(ids, null, null);
    }

    /// <summary>
    /// <c>{"indicators":[...],"recipientKeyId":"hex","signerKeyId":"hex"}</c>: a received bundle with the content keys
    /// it was sealed to and signed with (which key of a rotation was used is provable afterwards).
    /// </summary>
    public static string Indicators(IEnumerable<string> ids, string? recipientKeyId, string? signerKeyId)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = ids as IReadOnlyList<string> ?? Materialize(ids);
        return Plain(list, recipientKeyId, signerKeyId) ?? Escaped(list, recipientKeyId, signerKeyId);
    }

    /// <summary>The ids in one exactly sized array when their count is known up front (a Select over a list), else a list.</summary>
    private static IReadOnlyList<string> Materialize(IEnumerable<string> ids)
    {
        if (!ids.TryGetNonEnumeratedCount(out var count))
        {
            return [.. ids];
        }

        var array = new string[count];
        var i = 0;
        foreach (var id in ids)
        {
            if (i == array.Length)
            {
                return [.. ids]; // The source grew while read: take it as it is now.
            }

            array[i++] = id;
        }

        return i == array.Length ? array : array[..i];
    }

    /// <summary>The text built directly, or null when some value needs JSON escaping.</summary>
    private static string? Plain(IReadOnlyList<string> ids, string? recipientKeyId, string? signerKeyId)
    {
        var length = Prefix.Length + 2; // prefix, "]}"
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            if (id is null || !IsPlain(id))
            {
                return null;
            }

            length += id.Length + (i == 0 ? 2 : 3);
        }

        if ((recipientKeyId is not null && !IsPlain(recipientKeyId)) || (signerKeyId is not null && !IsPlain(signerKeyId)))
        {
            return null;
        }

        length += recipientKeyId is null ? 0 : ",\"recipientKeyId\":\"\"".Length + recipientKeyId.Length;
        length += signerKeyId is null ? 0 : ",\"signerKeyId\":\"\"".Length + signerKeyId.Length;
        return string.Create(length, (ids, recipientKeyId, signerKeyId), static (span, state) =>
        {
            var at = Append(span, 0, Prefix);
            for (var i = 0; i < state.ids.Count; i++)
            {
                at = Append(span, at, i == 0 ? "\"" : ",\"");
                at = Append(span, at, state.ids[i]);
                at = Append(span, at, "\"");
            }

            at = Append(span, at, "]");
            if (state.recipientKeyId is not null)
            {
                at = Append(span, at, ",\"recipientKeyId\":\"");
                at = Append(span, at, state.recipientKeyId);
                at = Append(span, at, "\"");
            }

            if (state.signerKeyId is not null)
            {
                at = Append(span, at, ",\"signerKeyId\":\"");
                at = Append(span, at, state.signerKeyId);
                at = Append(span, at, "\"");
            }

            Append(span, at, "}");
        });
    }

    private static int Append(Span<char> destination, int at, string text)
    {
        text.CopyTo(destination[at..]);
        return at + text.Length;
    }

    /// <summary>True when <paramref name="value"/> is written unchanged by JSON (see <see cref="s_plain"/>).</summary>
    private static bool IsPlain(string value) => !value.AsSpan().ContainsAnyExcept(s_plain);

    /// <summary>
    /// The general path: every id through <see cref="Utf8JsonWriter"/> with its default encoder. The fast path above must
    /// produce exactly this text (tested against it).
    /// </summary>
    internal static string Escaped(IReadOnlyList<string> ids, string? recipientKeyId, string? signerKeyId)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + (ids.Count * 40));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("indicators");
            foreach (var id in ids)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
            if (recipientKeyId is not null)
            {
                writer.WriteString("recipientKeyId", recipientKeyId);
            }

            if (signerKeyId is not null)
            {
                writer.WriteString("signerKeyId", signerKeyId);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
