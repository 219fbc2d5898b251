using System.Text;

namespace CyberCoop.Stix;

/// <summary>
/// A small parser for STIX 2.1 patterns, enough to pull out indicator values: observation
/// expressions in brackets joined by OR/AND/FOLLOWEDBY, comparison expressions with AND/OR and
/// parentheses, string/number/set literals, and trailing qualifiers (parsed and ignored).
/// </summary>
internal static class StixPattern
{
    /// <summary>A node of a parsed pattern.</summary>
    internal abstract record Node;

    /// <summary>Alternatives.</summary>
    internal sealed record Or(IReadOnlyList<Node> Children) : Node;

    /// <summary>Conjunction; <paramref name="AcrossObservations"/> when it joins bracketed observations.</summary>
    internal sealed record And(IReadOnlyList<Node> Children, bool AcrossObservations) : Node;

    /// <summary>One comparison "object-type:path op value".</summary>
    internal sealed record Comparison(string ObjectType, string Property, string Operator, string? Value) : Node;

    /// <summary>Parses a pattern; throws <see cref="FormatException"/> naming the problem.</summary>
    public static Node Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var p = new Parser(pattern);
        var node = p.ParsePattern();
        p.SkipQualifiers();
        p.ExpectEnd();
        return node;
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public Node ParsePattern()
        {
            var left = ParseObservation();
            while (true)
            {
                SkipQualifiers();
                if (TryKeyword("OR"))
                {
                    left = Combine(left, ParseObservation(), isOr: true, across: true);
                }
                else if (TryKeyword("AND") || TryKeyword("FOLLOWEDBY"))
                {
                    left = Combine(left, ParseObservation(), isOr: false, across: true);
                }
                else
                {
                    return left;
                }
            }
        }

        private Node ParseObservation()
        {
            SkipWs();
            if (TryChar('['))
            {
                var inner = ParseCompOr();
                Expect(']');
                return inner;
            }

            if (TryChar('('))
            {
                var inner = ParsePattern();
                Expect(')');
                return inner;
            }

            throw Error("expected '[' or '('");
        }

        private Node ParseCompOr()
        {
            var left = ParseCompAnd();
            while (TryKeyword("OR"))
            {
                left = Combine(left, ParseCompAnd(), isOr: true, across: false);
            }

            return left;
        }

        private Node ParseCompAnd()
        {
            var left = ParseCompTerm();
            while (TryKeyword("AND"))
            {
                left = Combine(left, ParseCompTerm(), isOr: false, across: false);
            }

            return left;
        }

        private Node ParseCompTerm()
        {
            SkipWs();
            if (TryChar('('))
            {
                var inner = ParseCompOr();
                Expect(')');
                return inner;
            }

            var path = ReadPath();
            var colon = path.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw Error("expected an object path such as ipv4-addr:value");
            }

            SkipWs();
            var negated = TryKeyword("NOT");
            var op = ReadOperator();
            var value = ReadValue();
            return new Comparison(path[..colon], path[(colon + 1)..], negated ? "NOT " + op : op, value);
        }

        private static Node Combine(Node left, Node right, bool isOr, bool across)
        {
            if (isOr)
            {
                var list = left is Or o ? [.. o.Children] : new List<Node> { left };
                list.Add(right);
                return new Or(list);
            }

            var and = left is And a && a.AcrossObservations == across ? [.. a.Children] : new List<Node> { left };
            and.Add(right);
            return new And(and, across);
        }

        private string ReadPath()
        {
            SkipWs();
            var sb = new StringBuilder();
            while (_pos < text.Length)
            {
                var c = text[_pos];
                if (c == '\'')
                {
                    // quoted path component: hashes.'SHA-256'
                    var end = text.IndexOf('\'', _pos + 1);
                    if (end < 0)
                    {
                        throw Error("unterminated quoted path component");
                    }

                    sb.Append(text, _pos + 1, end - _pos - 1);
                    _pos = end + 1;
                }
                else if (char.IsLetterOrDigit(c) || c is '-' or '_' or ':' or '.' or '[' or ']' or '*')
                {
                    if (c == ']' && (sb.Length == 0 || !sb.ToString().Contains('[', StringComparison.Ordinal) || sb[^1] != '*' && !char.IsDigit(sb[^1])))
                    {
                        break;
                    }

                    sb.Append(c);
                    _pos++;
                }
                else
                {
                    break;
                }
            }

            return sb.ToString();
        }

        private string ReadOperator()
        {
            SkipWs();
            foreach (var op in new[] { "!=", "<=", ">=", "=", "<", ">" })
            {
                if (string.CompareOrdinal(text, _pos, op, 0, op.Length) == 0)
                {
                    _pos += op.Length;
                    return op;
                }
            }

            foreach (var op in new[] { "MATCHES", "LIKE", "IN", "ISSUBSET", "ISSUPERSET" })
            {
                if (TryKeyword(op))
                {
                    return op;
                }
            }

            throw Error("expected a comparison operator");
        }

        private string? ReadValue()
        {
            SkipWs();
            if (_pos >= text.Length)
            {
                throw Error("expected a value");
            }

            var c = text[_pos];
            if (c == '\'')
            {
                return ReadString();
            }

            if ((c is 'h' or 'b' or 't') && _pos + 1 < text.Length && text[_pos + 1] == '\'')
            {
                _pos++;
                ReadString();
                return null;
            }

            if (c == '(')
            {
                var depth = 0;
                do
                {
                    if (text[_pos] == '\'')
                    {
                        ReadString();
                        continue;
                    }

                    depth += text[_pos] == '(' ? 1 : text[_pos] == ')' ? -1 : 0;
                    _pos++;
                }
                while (depth > 0 && _pos < text.Length);
                if (depth != 0)
                {
                    throw Error("unterminated set");
                }

                return null;
            }

            var start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '.' or '-' or '+'))
            {
                _pos++;
            }

            if (_pos == start)
            {
                throw Error("expected a value");
            }

            return text[start.._pos];
        }

        private string ReadString()
        {
            _pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length)
                {
                    throw Error("unterminated string");
                }

                var c = text[_pos++];
                if (c == '\\' && _pos < text.Length)
                {
                    sb.Append(text[_pos++]);
                }
                else if (c == '\'')
                {
                    return sb.ToString();
                }
                else
                {
                    sb.Append(c);
                }
            }
        }

        public void SkipQualifiers()
        {
            while (true)
            {
                if (TryKeyword("WITHIN"))
                {
                    ReadValue();
                    TryKeyword("SECONDS");
                }
                else if (TryKeyword("REPEATS"))
                {
                    ReadValue();
                    TryKeyword("TIMES");
                }
                else if (TryKeyword("START"))
                {
                    ReadValue();
                    if (!TryKeyword("STOP"))
                    {
                        throw Error("START without STOP");
                    }

                    ReadValue();
                }
                else
                {
                    return;
                }
            }
        }

        public void ExpectEnd()
        {
            SkipWs();
            if (_pos != text.Length)
            {
                throw Error("unexpected text");
            }
        }

        private bool TryKeyword(string keyword)
        {
            SkipWs();
            if (string.CompareOrdinal(text, _pos, keyword, 0, keyword.Length) == 0
                && (_pos + keyword.Length == text.Length || !char.IsLetterOrDigit(text[_pos + keyword.Length])))
            {
                _pos += keyword.Length;
                return true;
            }

            return false;
        }

        private bool TryChar(char c)
        {
            SkipWs();
            if (_pos < text.Length && text[_pos] == c)
            {
                _pos++;
                return true;
            }

            return false;
        }

        private void Expect(char c)
        {
            if (!TryChar(c))
            {
                throw Error($"expected '{c}'");
            }
        }

        private void SkipWs()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private FormatException Error(string what) => new($"pattern: {what} at position {_pos}");
    }
}
