using System.Globalization;
using CyberCoop.Agent.Configuration;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing;

/// <summary>Applies a <see cref="FieldMapping"/> to one record (JSONL object, CSV row, Zeek log line).</summary>
internal static class MappedRecordEmitter
{
    private static readonly char[] s_tagSeparators = [',', ';', '|'];

    /// <summary>
    /// Emits the sighting the record describes. Returns null on success or the reason the record
    /// is unusable; <paramref name="unset"/> values (Zeek "-") count as absent.
    /// </summary>
    public static string? Emit(SightingEmitter emitter, FieldMapping mapping, Dictionary<string, string> record, string? unset = null)
    {
        var value = Get(record, mapping.ValueField, unset);
        if (value is null)
        {
            return $"value field '{mapping.ValueField}' missing or empty";
        }

        var type = mapping.FixedType;
        if (mapping.TypeField is not null)
        {
            var typeText = Get(record, mapping.TypeField, unset);
            if (typeText is null)
            {
                return $"type field '{mapping.TypeField}' missing or empty";
            }

            if (!IndicatorTypeNames.TryParse(typeText, out type) && !IndicatorTypeNames.IsAuto(typeText))
            {
                return $"type field '{mapping.TypeField}' holds an unknown indicator type";
            }
        }

        DateTimeOffset? observed = null;
        if (mapping.TimestampField is not null && Get(record, mapping.TimestampField, unset) is { } tsText)
        {
            if (!TimestampParser.TryParse(tsText, out var ts))
            {
                return $"timestamp field '{mapping.TimestampField}' is not a timestamp";
            }

            observed = ts;
        }

        uint? confidence = null;
        if (mapping.ConfidenceField is not null && Get(record, mapping.ConfidenceField, unset) is { } confText)
        {
            if (!double.TryParse(confText, NumberStyles.Float, CultureInfo.InvariantCulture, out var c) || c < 0 || c > 100)
            {
                return $"confidence field '{mapping.ConfidenceField}' is not a number 0-100";
            }

            confidence = (uint)Math.Round(c);
        }

        var tlp = Tlp.Unspecified;
        if (mapping.TlpField is not null && Get(record, mapping.TlpField, unset) is { } tlpText && !IndicatorTypeNames.TryParseTlp(tlpText, out tlp))
        {
            return $"tlp field '{mapping.TlpField}' is not a TLP level";
        }

        DateTimeOffset? validUntil = null;
        if (mapping.ValidUntilField is not null && Get(record, mapping.ValidUntilField, unset) is { } untilText)
        {
            if (!TimestampParser.TryParse(untilText, out var until))
            {
                return $"validUntil field '{mapping.ValidUntilField}' is not a timestamp";
            }

            validUntil = until;
        }

        string[]? tags = null;
        if (mapping.TagsField is not null && Get(record, mapping.TagsField, unset) is { } tagText)
        {
            tags = tagText.Split(s_tagSeparators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        List<KeyValuePair<string, string>>? context = null;
        foreach (var field in mapping.ContextFields)
        {
            if (Get(record, field, unset) is { } v)
            {
                (context ??= []).Add(new(field.Replace('.', '_').ToLowerInvariant(), SightingEmitter.Truncate(v, 512)));
            }
        }

        var description = mapping.DescriptionField is null ? null : Get(record, mapping.DescriptionField, unset);
        emitter.Emit(type, value, observed, emitter.ConfidenceFor(confidence), context, tlp, validUntil, description, tags);
        return null;
    }

    private static string? Get(Dictionary<string, string> record, string field, string? unset)
    {
        if (!record.TryGetValue(field, out var v))
        {
            return null;
        }

        v = v.Trim();
        return v.Length == 0 || (unset is not null && v == unset) ? null : v;
    }
}
