using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace CyberCoop.Configuration;

/// <summary>
/// UTF-8 checks for whole files read as JSON. System.Text.Json checks a string's encoding only when the string is
/// read, so an invalid byte would otherwise surface as an exception in the middle of mapping (found by fuzzing,
/// docs/fuzzing.md). Linked into the gateway and the agent.
/// </summary>
internal static class Utf8Text
{
    /// <summary>The offset of the first byte that is not part of valid UTF-8, or null when all of it is valid.</summary>
    public static int? FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes))
        {
            return null;
        }

        var offset = 0;
        while (offset < bytes.Length && Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) == OperationStatus.Done)
        {
            offset += consumed;
        }

        return offset;
    }
}
