namespace CyberCoop.Crypto.Tests;

/// <summary>One HPKE test case from either vector file format.</summary>
internal sealed class HpkeVector
{
    public Dictionary<string, string> Setup { get; } = new(StringComparer.Ordinal);

    public List<Dictionary<string, string>> Encryptions { get; } = [];

    public List<Dictionary<string, string>> Exports { get; } = [];

    public byte[] Bytes(string key) => Vectors.Hex(Setup[key]);

    public int Int(string key) => int.Parse(Setup[key], System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Parsers for rfc9180_hpke_x25519_sha256_boringssl.txt and rfc9180_appendixA_x25519_sha256_draft_md.txt.</summary>
internal static class HpkeVectorFile
{
    /// <summary>"key = value" lines; a blank line ends a case; "# encryptions[i]" / "# exports[i]" start sub-records.</summary>
    public static List<HpkeVector> ReadBoringSsl(string path)
    {
        var result = new List<HpkeVector>();
        HpkeVector? current = null;
        Dictionary<string, string>? target = null;
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                current = null;
                target = null;
                continue;
            }

            if (current is null)
            {
                current = new HpkeVector();
                result.Add(current);
                target = current.Setup;
            }

            if (line.StartsWith("# encryptions", StringComparison.Ordinal))
            {
                target = [];
                current.Encryptions.Add(target);
                continue;
            }

            if (line.StartsWith("# exports", StringComparison.Ordinal))
            {
                target = [];
                current.Exports.Add(target);
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var eq = line.IndexOf('=');
            target![line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }

        return result;
    }

    /// <summary>
    /// The RFC appendix in markdown: reads the "Base Setup Information" block of the first section whose
    /// heading contains <paramref name="sectionHeading"/>, with its Encryptions and Exported Values.
    /// Values may wrap onto following lines of hex.
    /// </summary>
    public static HpkeVector ReadRfcAppendixBase(string path, string sectionHeading)
    {
        var lines = File.ReadAllLines(path);
        var section = Array.FindIndex(lines, l => l.StartsWith("## ", StringComparison.Ordinal) && l.Contains(sectionHeading, StringComparison.Ordinal));
        if (section < 0)
        {
            throw new InvalidDataException($"section '{sectionHeading}' not found in {path}");
        }

        var vector = new HpkeVector();
        var i = Array.FindIndex(lines, section, l => l.StartsWith("### Base Setup Information", StringComparison.Ordinal));
        i = ReadFence(lines, i, vector.Setup, null);
        i = Array.FindIndex(lines, i, l => l.StartsWith("#### Encryptions", StringComparison.Ordinal));
        i = ReadFence(lines, i, null, vector.Encryptions);
        i = Array.FindIndex(lines, i, l => l.StartsWith("#### Exported Values", StringComparison.Ordinal));
        ReadFence(lines, i, null, vector.Exports);
        return vector;
    }

    private static int ReadFence(string[] lines, int start, Dictionary<string, string>? single, List<Dictionary<string, string>>? many)
    {
        var i = Array.FindIndex(lines, start, l => l.Trim() == "~~~") + 1;
        var record = single ?? [];
        string? lastKey = null;
        for (; i < lines.Length && lines[i].Trim() != "~~~"; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                if (many is not null && record.Count > 0)
                {
                    many.Add(record);
                    record = [];
                }

                lastKey = null;
                continue;
            }

            var colon = line.IndexOf(':');
            if (colon > 0 && !IsHex(line))
            {
                lastKey = line[..colon].Trim();
                record[lastKey] = line[(colon + 1)..].Trim();
            }
            else if (lastKey is not null)
            {
                record[lastKey] += line;
            }
        }

        if (many is not null && record.Count > 0)
        {
            many.Add(record);
        }

        return i + 1;
    }

    private static bool IsHex(string line) => line.All(char.IsAsciiHexDigit);
}
