using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using CyberCoop.Agent.Configuration;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing;

/// <summary>
/// Zeek logs in TSV (reading the #separator, #unset_field, #empty_field, #path and #fields header)
/// or JSON lines. notice.log: the non-home-net addresses (src/dst, else id.orig_h/id.resp_h) with
/// note, msg and sub as context. intel.log: seen.indicator typed by seen.indicator_type, with
/// seen.where and sources as context. Any other log is ignored unless the source has a field mapping,
/// which is then applied to each record. The log kind comes from #path, the _path field, or the file name.
/// </summary>
internal sealed class ZeekParser : ILineParser
{
    private const uint NoticeConfidence = 50;
    private const uint IntelConfidence = 80;

    private static readonly string[] s_builtinFields =
    [
        "_path", "ts", "src", "dst", "id.orig_h", "id.resp_h", "note", "msg", "sub", "seen.indicator",
        "seen.indicator_type", "seen.where", "sources", "uid",
    ];

    private readonly SightingEmitter _emitter;
    private readonly FieldMapping? _mapping;
    private readonly string? _fileKind;
    private readonly FrozenSet<string> _wanted;
    private readonly Dictionary<string, string> _record = new(StringComparer.Ordinal);

    private byte _separator = (byte)'\t';
    private string _unset = "-";
    private string _empty = "(empty)";
    private string? _tsvPath;
    private string[]? _fields;
    private int[]? _wantedColumns;

    /// <summary>Creates a parser for one file.</summary>
    /// <param name="emitter">Where sightings go.</param>
    /// <param name="mapping">Mapping for logs other than notice/intel, or null to ignore them.</param>
    /// <param name="fileName">File name, used to tell the log kind when the records do not.</param>
    public ZeekParser(SightingEmitter emitter, FieldMapping? mapping, string? fileName)
    {
        _emitter = emitter;
        _mapping = mapping;
        _fileKind = KindFromFileName(fileName);
        var wanted = new HashSet<string>(s_builtinFields, StringComparer.Ordinal);
        if (mapping is not null)
        {
            wanted.UnionWith(mapping.AllFields);
        }

        _wanted = wanted.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public bool NeedsPriming => true;

    /// <inheritdoc />
    public void PrimeLine(ReadOnlySpan<byte> line)
    {
        if (line.Length > 0 && line[0] == (byte)'#')
        {
            ReadHeader(line);
        }
    }

    /// <inheritdoc />
    public void ParseLine(ReadOnlySpan<byte> line, long lineNumber)
    {
        if (line.IsEmpty)
        {
            return;
        }

        if (line[0] == (byte)'#')
        {
            ReadHeader(line);
            return;
        }

        string? kind;
        string unset;
        if (line[0] == (byte)'{')
        {
            var error = JsonRecordReader.Read(line, _wanted, _record);
            if (error is not null)
            {
                _emitter.Diagnostics.Skip(lineNumber, error);
                return;
            }

            kind = _record.TryGetValue("_path", out var p) ? p : _fileKind;
            unset = "\u0000";
        }
        else
        {
            if (_fields is null || _wantedColumns is null)
            {
                _emitter.Diagnostics.Skip(lineNumber, "Zeek TSV line before the #fields header");
                return;
            }

            var error = ReadTsv(line);
            if (error is not null)
            {
                _emitter.Diagnostics.Skip(lineNumber, error);
                return;
            }

            kind = _tsvPath ?? _fileKind;
            unset = _unset;
        }

        switch (kind)
        {
            case "notice":
                EmitNotice(unset);
                break;
            case "intel":
                EmitIntel(lineNumber, unset);
                break;
            default:
                if (_mapping is null)
                {
                    _emitter.Diagnostics.Ignore(kind is null ? "zeek log of unknown kind (no mapping)" : "zeek " + kind + " log (no mapping)");
                }
                else if (MappedRecordEmitter.Emit(_emitter, _mapping, _record, unset) is { } reason)
                {
                    _emitter.Diagnostics.Ignore(reason);
                }

                break;
        }
    }

    private void EmitNotice(string unset)
    {
        var ts = Time(unset);
        var context = new List<KeyValuePair<string, string>>(3);
        AddContext(context, "note", unset);
        AddContext(context, "msg", unset);
        AddContext(context, "sub", unset);
        var src = Get("src", unset) ?? Get("id.orig_h", unset);
        var dst = Get("dst", unset) ?? Get("id.resp_h", unset);
        var confidence = _emitter.ConfidenceFor(NoticeConfidence);
        if (src is null && dst is null)
        {
            _emitter.Diagnostics.Ignore("zeek notice without addresses");
            return;
        }

        if (src is not null)
        {
            _emitter.Emit(IndicatorType.Ipv4, src, ts, confidence, context);
        }

        if (dst is not null && dst != src)
        {
            _emitter.Emit(IndicatorType.Ipv4, dst, ts, confidence, context);
        }
    }

    private void EmitIntel(long lineNumber, string unset)
    {
        var indicator = Get("seen.indicator", unset);
        if (indicator is null)
        {
            _emitter.Diagnostics.Skip(lineNumber, "zeek intel record without seen.indicator");
            return;
        }

        var typeName = Get("seen.indicator_type", unset);
        var type = typeName switch
        {
            "Intel::ADDR" => IndicatorType.Ipv4,
            "Intel::SUBNET" => IndicatorType.Cidr,
            "Intel::DOMAIN" => IndicatorType.Domain,
            "Intel::URL" => IndicatorType.Url,
            "Intel::EMAIL" => IndicatorType.Email,
            "Intel::FILE_HASH" => IndicatorType.Unspecified,
            "Intel::CERT_HASH" => IndicatorType.Sha1,
            "Intel::JA3" => IndicatorType.Ja3,
            _ => (IndicatorType)(-1),
        };
        if ((int)type == -1)
        {
            _emitter.Diagnostics.Ignore("zeek intel indicator type not mapped");
            return;
        }

        if (type == IndicatorType.Url && !indicator.Contains("://", StringComparison.Ordinal))
        {
            // Zeek stores intel URLs without their scheme.
            indicator = "http://" + indicator;
        }

        var context = new List<KeyValuePair<string, string>>(3);
        AddContext(context, "seen.where", unset);
        AddContext(context, "sources", unset);
        if (typeName is not null)
        {
            context.Add(new("indicator_type", typeName));
        }

        _emitter.Emit(type, indicator, Time(unset), _emitter.ConfidenceFor(IntelConfidence), context);
    }

    private DateTimeOffset? Time(string unset) => Get("ts", unset) is { } t && TimestampParser.TryParse(t, out var ts) ? ts : null;

    private string? Get(string field, string unset)
    {
        if (!_record.TryGetValue(field, out var v) || v.Length == 0 || v == unset || v == _empty)
        {
            return null;
        }

        return v;
    }

    private void AddContext(List<KeyValuePair<string, string>> context, string field, string unset)
    {
        if (Get(field, unset) is { } v)
        {
            context.Add(new(field.Replace('.', '_'), SightingEmitter.Truncate(v, 512)));
        }
    }

    private string? ReadTsv(ReadOnlySpan<byte> line)
    {
        _record.Clear();
        var fields = _fields!;
        var wanted = _wantedColumns!;
        var column = 0;
        var next = 0;
        var rest = line;
        while (true)
        {
            var sep = rest.IndexOf(_separator);
            var cell = sep < 0 ? rest : rest[..sep];
            if (next < wanted.Length && wanted[next] == column)
            {
                _record[fields[column]] = Unescape(cell);
                next++;
            }

            column++;
            if (sep < 0)
            {
                break;
            }

            rest = rest[(sep + 1)..];
        }

        return column == fields.Length ? null : "field count does not match the #fields header";
    }

    private static string Unescape(ReadOnlySpan<byte> cell)
    {
        if (cell.IndexOf("\\x"u8) < 0)
        {
            return Encoding.UTF8.GetString(cell);
        }

        var bytes = new List<byte>(cell.Length);
        for (var i = 0; i < cell.Length; i++)
        {
            if (cell[i] == (byte)'\\' && i + 3 < cell.Length && cell[i + 1] == (byte)'x'
                && byte.TryParse(cell.Slice(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 3;
            }
            else
            {
                bytes.Add(cell[i]);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    private void ReadHeader(ReadOnlySpan<byte> line)
    {
        if (line.StartsWith("#separator "u8))
        {
            var value = Unescape(line["#separator "u8.Length..]);
            if (value.Length == 1 && value[0] < 128)
            {
                _separator = (byte)value[0];
            }

            return;
        }

        var sep = line.IndexOf(_separator);
        if (sep < 0)
        {
            return;
        }

        var key = line[..sep];
        var value2 = line[(sep + 1)..];
        if (key.SequenceEqual("#unset_field"u8))
        {
            _unset = Encoding.UTF8.GetString(value2);
        }
        else if (key.SequenceEqual("#empty_field"u8))
        {
            _empty = Encoding.UTF8.GetString(value2);
        }
        else if (key.SequenceEqual("#path"u8))
        {
            _tsvPath = Encoding.UTF8.GetString(value2);
        }
        else if (key.SequenceEqual("#fields"u8))
        {
            var names = new List<string>();
            var cols = new List<int>();
            var rest = value2;
            while (true)
            {
                var s = rest.IndexOf(_separator);
                var name = Encoding.UTF8.GetString(s < 0 ? rest : rest[..s]);
                if (_wanted.Contains(name))
                {
                    cols.Add(names.Count);
                }

                names.Add(name);
                if (s < 0)
                {
                    break;
                }

                rest = rest[(s + 1)..];
            }

            _fields = [.. names];
            _wantedColumns = [.. cols];
        }
    }

    private static string? KindFromFileName(string? fileName)
    {
        if (string.IsNullOrEmpty(fileName))
        {
            return null;
        }

        var name = Path.GetFileName(fileName);
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        var stem = dot < 0 ? name : name[..dot];
        foreach (var kind in new[] { "notice", "intel" })
        {
            if (stem.Equals(kind, StringComparison.OrdinalIgnoreCase) || stem.EndsWith("-" + kind, StringComparison.OrdinalIgnoreCase))
            {
                return kind;
            }
        }

        return null;
    }
}
