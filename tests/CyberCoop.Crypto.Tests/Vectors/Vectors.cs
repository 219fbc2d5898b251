using CyberCoop.Testing;

namespace CyberCoop.Crypto.Tests;

/// <summary>Reads the conformance vector files vendored in tests/vectors (origin and licence in its SOURCES.md).</summary>
internal static class Vectors
{
    public static string Require(string fileName) => TestData.Vector(fileName);

    public static byte[] Hex(string value)
    {
        var text = value.Trim();
        return text is "\"\"" or "" ? [] : Convert.FromHexString(text);
    }

    /// <summary>
    /// Parses "KEY = value" files (ring / BoringSSL style): records separated by blank lines, '#' comments.
    /// Keys are case-sensitive; values are raw strings.
    /// </summary>
    public static List<Dictionary<string, string>> ReadRecords(string path)
    {
        var records = new List<Dictionary<string, string>>();
        Dictionary<string, string>? current = null;
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                current = null;
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var eq = line.IndexOf('=');
            if (eq < 0)
            {
                continue;
            }

            if (current is null)
            {
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                records.Add(current);
            }

            current[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }

        return records;
    }
}
