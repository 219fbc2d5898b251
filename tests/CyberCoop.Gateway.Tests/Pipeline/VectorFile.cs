using System.Globalization;
using System.Text;

namespace CyberCoop.Gateway.Tests.Pipeline;

/// <summary>The conformance vector files of tests/vectors (url-canonical.txt, indicator-canonical.txt).</summary>
internal static class VectorFile
{
    /// <summary>The path of <paramref name="name"/> in tests/vectors of this repository.</summary>
    public static string PathOf(string name) => Path.Combine(TestData.RepositoryRoot, "tests", "vectors", name);

    /// <summary>
    /// The vector lines of a file (comments and blank lines skipped) with their line numbers, split at tabs; fails naming
    /// the line when a line does not have <paramref name="fields"/> fields.
    /// </summary>
    public static IEnumerable<(int Line, string[] Fields)> Read(string name, int fields)
    {
        var lineNumber = 0;
        foreach (var line in File.ReadLines(PathOf(name)))
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split('\t');
            if (parts.Length != fields)
            {
                throw new InvalidDataException($"{name} line {lineNumber}: expected {fields} tab-separated fields, found {parts.Length}");
            }

            yield return (lineNumber, parts);
        }
    }

    /// <summary>An input field: \t is a tab, \\ one backslash, \uXXXX that UTF-16 code unit.</summary>
    public static string Unescape(string field)
    {
        var builder = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] != '\\' || i + 1 == field.Length)
            {
                builder.Append(field[i]);
                continue;
            }

            i++;
            if (field[i] == 'u' && i + 4 < field.Length)
            {
                builder.Append((char)int.Parse(field.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                i += 4;
                continue;
            }

            builder.Append(field[i] switch { 't' => '\t', _ => field[i] });
        }

        return builder.ToString();
    }
}
