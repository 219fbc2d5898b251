using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing;

/// <summary>
/// Suricata EVE JSON. Alert events become sightings of every address that is not home-net or
/// private (normally the remote side), of the related host name (http.hostname, tls.sni,
/// dns rrname), of JA3/JA3S/JA4 fingerprints and of file hashes; signature, signature id,
/// category and severity travel as context, severity 1/2/3/4 maps to confidence 90/70/50/30.
/// Other event types are counted as ignored. Reads the line once with <see cref="Utf8JsonReader"/>
/// and stops at event_type for non-alert events.
/// </summary>
internal sealed class EveParser(SightingEmitter emitter) : ILineParser
{
    /// <summary>Longest value kept in <see cref="_strings"/>; longer ones are made afresh.</summary>
    private const int MaxCachedChars = 256;

    /// <summary>Most values kept in <see cref="_strings"/>: a file with endless distinct signatures stays bounded.</summary>
    private const int MaxCachedStrings = 1024;

    private static readonly string[] s_severities = ["0", "1", "2", "3", "4"];

    // The context is copied into each sighting, so one list serves every line.
    private readonly List<KeyValuePair<string, string>> _context = new(6);

    // Signature, category, app_proto and signature id repeat from alert to alert: one string each instead of one per line.
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, string> s_ignoreReasons = new[]
    {
        "flow", "netflow", "dns", "tls", "http", "http2", "fileinfo", "smb", "dcerpc", "krb5", "anomaly", "stats",
        "dhcp", "smtp", "ssh", "ftp", "ftp_data", "nfs", "ntp", "snmp", "sip", "rdp", "rfb", "mqtt", "quic",
        "ike", "tftp", "drop", "pgsql", "frame", "arp", "bittorrent-dht", "dnp3", "modbus", "enip", "websocket",
    }.ToFrozenDictionary(t => t, t => "event_type " + t, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> s_ignoreLookup =
        s_ignoreReasons.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 64 };

    /// <inheritdoc />
    public bool NeedsPriming => false;

    /// <inheritdoc />
    public void PrimeLine(ReadOnlySpan<byte> line)
    {
    }

    /// <inheritdoc />
    public void ParseLine(ReadOnlySpan<byte> line, long lineNumber)
    {
        try
        {
            ParseCore(line, lineNumber);
        }
        catch (JsonException)
        {
            emitter.Diagnostics.Skip(lineNumber, "invalid JSON (truncated or malformed)");
        }
        catch (InvalidOperationException)
        {
            emitter.Diagnostics.Skip(lineNumber, "invalid JSON value");
        }
    }

    private void ParseCore(ReadOnlySpan<byte> line, long lineNumber)
    {
        var r = new Utf8JsonReader(line, s_options);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
        {
            emitter.Diagnostics.Skip(lineNumber, "not a JSON object");
            return;
        }

        var alert = default(EveAlert);
        var isAlert = false;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("event_type"u8))
            {
                r.Read();
                if (r.TokenType != JsonTokenType.String)
                {
                    emitter.Diagnostics.Skip(lineNumber, "event_type is not a string");
                    return;
                }

                if (!r.ValueTextEquals("alert"u8))
                {
                    emitter.Diagnostics.Ignore(IgnoreReason(ref r));
                    return;
                }

                isAlert = true;
            }
            else if (r.ValueTextEquals("timestamp"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.String && !r.ValueIsEscaped && TimestampParser.TryParse(r.ValueSpan, out var ts))
                {
                    alert.Timestamp = ts;
                }
            }
            else if (r.ValueTextEquals("src_ip"u8))
            {
                alert.SrcIp = ReadString(ref r);
            }
            else if (r.ValueTextEquals("dest_ip"u8))
            {
                alert.DestIp = ReadString(ref r);
            }
            else if (r.ValueTextEquals("app_proto"u8))
            {
                alert.AppProto = ReadCachedString(ref r);
            }
            else if (r.ValueTextEquals("alert"u8))
            {
                ReadAlert(ref r, ref alert);
            }
            else if (r.ValueTextEquals("http"u8))
            {
                ReadHttp(ref r, ref alert);
            }
            else if (r.ValueTextEquals("tls"u8))
            {
                ReadTls(ref r, ref alert);
            }
            else if (r.ValueTextEquals("dns"u8))
            {
                r.Read();
                alert.RrName ??= FindString(ref r, "rrname"u8);
            }
            else if (r.ValueTextEquals("fileinfo"u8))
            {
                r.Read();
                ReadHashes(ref r, ref alert);
            }
            else if (r.ValueTextEquals("files"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.StartArray)
                {
                    while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                    {
                        ReadHashes(ref r, ref alert);
                    }
                }
                else
                {
                    r.Skip();
                }
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }

        if (!isAlert)
        {
            emitter.Diagnostics.Skip(lineNumber, "missing event_type");
            return;
        }

        if (alert.Signature is null && alert.SignatureId is null)
        {
            emitter.Diagnostics.Skip(lineNumber, "alert event without alert object");
            return;
        }

        Emit(ref alert);
    }

    private void Emit(ref EveAlert a)
    {
        uint? fromSeverity = a.Severity switch
        {
            null => null,
            1 => 90,
            2 => 70,
            3 => 50,
            _ => 30,
        };
        var confidence = emitter.ConfidenceFor(fromSeverity);
        var context = _context;
        context.Clear();
        if (a.Signature is not null)
        {
            context.Add(new("signature", a.Signature));
        }

        if (a.SignatureId is not null)
        {
            context.Add(new("signature_id", a.SignatureId));
        }

        if (a.Category is not null)
        {
            context.Add(new("category", a.Category));
        }

        if (a.Severity is { } sev)
        {
            context.Add(new("severity", (uint)sev < s_severities.Length ? s_severities[sev] : sev.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (a.AppProto is not null)
        {
            context.Add(new("app_proto", a.AppProto));
        }

        if (a.SrcIp is not null)
        {
            emitter.Emit(IndicatorType.Ipv4, a.SrcIp, a.Timestamp, confidence, context, role: "source");
        }

        if (a.DestIp is not null && a.DestIp != a.SrcIp)
        {
            emitter.Emit(IndicatorType.Ipv4, a.DestIp, a.Timestamp, confidence, context, role: "destination");
        }

        EmitHost(a.HttpHost, "http.hostname", ref a, context, confidence);
        if (a.Sni != a.HttpHost)
        {
            EmitHost(a.Sni, "tls.sni", ref a, context, confidence);
        }

        if (a.RrName != a.HttpHost && a.RrName != a.Sni)
        {
            EmitHost(a.RrName, "dns.rrname", ref a, context, confidence);
        }

        if (a.Ja3 is not null)
        {
            emitter.Emit(IndicatorType.Ja3, a.Ja3, a.Timestamp, confidence, context, role: "ja3");
        }

        if (a.Ja3s is not null)
        {
            emitter.Emit(IndicatorType.Ja3, a.Ja3s, a.Timestamp, confidence, context, role: "ja3s");
        }

        if (a.Ja4 is not null)
        {
            emitter.Emit(IndicatorType.Ja4, a.Ja4, a.Timestamp, confidence, context, role: "ja4");
        }

        if (a.Hashes is not null)
        {
            foreach (var (type, value) in a.Hashes)
            {
                emitter.Emit(type, value, a.Timestamp, confidence, context, role: "file");
            }
        }
    }

    private void EmitHost(string? host, string role, ref EveAlert a, List<KeyValuePair<string, string>> context, uint confidence)
    {
        if (host is not null)
        {
            emitter.Emit(IndicatorType.Unspecified, host, a.Timestamp, confidence, context, role: role);
        }
    }

    private static string IgnoreReason(ref Utf8JsonReader r)
    {
        if (!r.ValueIsEscaped && r.ValueSpan.Length <= 32)
        {
            Span<char> chars = stackalloc char[32];
            if (Encoding.UTF8.TryGetChars(r.ValueSpan, chars, out var n) && s_ignoreLookup.TryGetValue(chars[..n], out var reason))
            {
                return reason;
            }
        }

        return "event_type other";
    }

    /// <summary><see cref="ReadString"/> for values that repeat across lines: served from <see cref="_strings"/>.</summary>
    private string? ReadCachedString(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.String)
        {
            return r.ValueIsEscaped || r.ValueSpan.Length > MaxCachedChars ? r.GetString() : Cached(r.ValueSpan);
        }

        r.Skip();
        return null;
    }

    /// <summary>The string of <paramref name="utf8"/> (valid UTF-8, at most <see cref="MaxCachedChars"/> bytes), made once.</summary>
    private string Cached(ReadOnlySpan<byte> utf8)
    {
        Span<char> chars = stackalloc char[MaxCachedChars];
        if (System.Text.Unicode.Utf8.ToUtf16(utf8, chars, out _, out var n, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
        {
            // As Utf8JsonReader.GetString does (the caller reports the line as an invalid JSON value).
            throw new InvalidOperationException("invalid UTF-8 in a JSON string");
        }

        var lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..n], out var cached))
        {
            return cached;
        }

        var made = new string(chars[..n]);
        if (_strings.Count < MaxCachedStrings)
        {
            _strings[made] = made;
        }

        return made;
    }

    private static string? ReadString(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.String)
        {
            return r.GetString();
        }

        r.Skip();
        return null;
    }

    private void ReadAlert(ref Utf8JsonReader r, ref EveAlert a)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return;
        }

        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("signature"u8))
            {
                a.Signature = ReadCachedString(ref r);
            }
            else if (r.ValueTextEquals("signature_id"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out _))
                {
                    // The number's own digits (an integer has one canonical form): the same text as formatting it.
                    a.SignatureId = r.ValueSpan.IndexOfAny("eE."u8) < 0 && r.ValueSpan[0] != (byte)'-' ? Cached(r.ValueSpan)
                        : r.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            else if (r.ValueTextEquals("category"u8))
            {
                a.Category = ReadCachedString(ref r);
            }
            else if (r.ValueTextEquals("severity"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var sev))
                {
                    a.Severity = sev;
                }
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }
    }

    private static void ReadHttp(ref Utf8JsonReader r, ref EveAlert a)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return;
        }

        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("hostname"u8))
            {
                a.HttpHost = ReadString(ref r);
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }
    }

    private static void ReadTls(ref Utf8JsonReader r, ref EveAlert a)
    {
        r.Read();
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return;
        }

        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("sni"u8))
            {
                a.Sni = ReadString(ref r);
            }
            else if (r.ValueTextEquals("ja3"u8))
            {
                r.Read();
                a.Ja3 = r.TokenType == JsonTokenType.String ? r.GetString() : FindString(ref r, "hash"u8);
            }
            else if (r.ValueTextEquals("ja3s"u8))
            {
                r.Read();
                a.Ja3s = r.TokenType == JsonTokenType.String ? r.GetString() : FindString(ref r, "hash"u8);
            }
            else if (r.ValueTextEquals("ja4"u8))
            {
                r.Read();
                a.Ja4 = r.TokenType == JsonTokenType.String ? r.GetString() : FindString(ref r, "hash"u8);
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }
    }

    private static void ReadHashes(ref Utf8JsonReader r, ref EveAlert a)
    {
        if (r.TokenType != JsonTokenType.StartObject)
        {
            r.Skip();
            return;
        }

        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var type = r.ValueTextEquals("md5"u8) ? IndicatorType.Md5
                : r.ValueTextEquals("sha1"u8) ? IndicatorType.Sha1
                : r.ValueTextEquals("sha256"u8) ? IndicatorType.Sha256
                : IndicatorType.Unspecified;
            if (type == IndicatorType.Unspecified)
            {
                r.Read();
                r.Skip();
                continue;
            }

            var value = ReadString(ref r);
            if (value is not null)
            {
                (a.Hashes ??= []).Add((type, value));
            }
        }
    }

    /// <summary>
    /// With the reader on a value: returns the first string property named <paramref name="name"/>
    /// anywhere inside it (or null), leaving the reader on the value's last token.
    /// </summary>
    private static string? FindString(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        if (r.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return null;
        }

        var depth = r.CurrentDepth;
        string? found = null;
        while (r.Read() && r.CurrentDepth > depth)
        {
            if (found is null && r.TokenType == JsonTokenType.PropertyName && r.ValueTextEquals(name))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.String)
                {
                    found = r.GetString();
                }
                else
                {
                    r.Skip();
                }
            }
        }

        return found;
    }

    private struct EveAlert
    {
        public DateTimeOffset? Timestamp;
        public string? SrcIp;
        public string? DestIp;
        public string? AppProto;
        public string? Signature;
        public string? SignatureId;
        public string? Category;
        public int? Severity;
        public string? HttpHost;
        public string? Sni;
        public string? RrName;
        public string? Ja3;
        public string? Ja3s;
        public string? Ja4;
        public List<(IndicatorType Type, string Value)>? Hashes;
    }
}
