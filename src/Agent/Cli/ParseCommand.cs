using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Cli;

/// <summary><c>parse</c>: a dry run printing the sightings a file would produce.</summary>
internal static class ParseCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Build()
    {
        var file = new Argument<string>("file") { Description = "The file to read (read once, from the beginning); - reads standard input." };
        var format = new Option<string?>("--format", "-f") { Description = $"Input format: {SourceFormats.Names}. Not needed with --config/--source." };
        var config = new Option<FileInfo?>("--config", "-c") { Description = "agent.json whose source settings (format, mapping, TLP, home net, allowlist) to use." };
        var sourceName = new Option<string?>("--source", "-s") { Description = "Name of the source in --config (default: the first source with a matching format, else the first)." };
        var mapping = new Option<string?>("--mapping", "-m") { Description = "Field mapping for jsonl/csv/zeek as JSON, e.g. '{\"value\":\"indicator\",\"type\":\"kind\"}'." };
        var homeNet = new Option<string[]>("--home-net") { Description = "Home-net CIDR never reported (repeatable).", AllowMultipleArgumentsPerToken = true };
        var tlp = new Option<string?>("--tlp") { Description = "TLP stamped on sightings (default AMBER)." };
        var summaryOnly = new Option<bool>("--summary-only") { Description = "Print only the summary, not the sightings." };

        var command = new Command(
            "parse",
            "Dry run: read a sensor file and print the sightings the agent would send, as JSON lines on stdout, " +
            "then a summary on stderr with the number of lines, sightings, skipped lines (with file:line and reason), " +
            "ignored records and filtered observables. Nothing is sent and no state is written.\n\n" +
            "Examples:\n" +
            "  cybercoop-agent parse /var/log/suricata/eve.json --format eve --home-net 10.0.0.0/8\n" +
            "  cybercoop-agent parse feed.csv --format csv --mapping '{\"value\":\"indicator\",\"type\":\"type\"}'\n" +
            "  cybercoop-agent parse intel.log --config agent.json --source zeek-intel\n" +
            "  zcat eve.json.gz | cybercoop-agent parse - --format eve")
        {
            file, format, config, sourceName, mapping, homeNet, tlp, summaryOnly,
        };
        command.SetAction(result => Run(
            result.GetValue(file)!,
            result.GetValue(format),
            result.GetValue(config),
            result.GetValue(sourceName),
            result.GetValue(mapping),
            result.GetValue(homeNet) ?? [],
            result.GetValue(tlp),
            result.GetValue(summaryOnly)));
        return command;
    }

    private static int Run(string file, string? formatText, FileInfo? configFile, string? sourceName, string? mappingJson, string[] homeNet, string? tlpText, bool summaryOnly)
    {
        var errors = new List<string>();
        SourceFormat format = default;
        var hasFormat = formatText is not null && SourceFormats.TryParse(formatText, out format);
        if (formatText is not null && !hasFormat)
        {
            errors.Add($"--format: '{formatText}' must be one of {SourceFormats.Names}");
        }

        var filter = SightingFilter.Default;
        var profile = SourceProfile.Default;
        FieldMapping? mapping = null;
        var maxLine = FileParser.DefaultMaxLineBytes;
        if (configFile is not null)
        {
            try
            {
                var settings = AgentConfigLoader.Load(configFile.FullName);
                var source = settings.Sources.FirstOrDefault(s => s.Name == sourceName)
                    ?? (sourceName is null ? settings.Sources.FirstOrDefault(s => !hasFormat || s.Format == format) ?? settings.Sources[0] : null);
                if (source is null)
                {
                    errors.Add($"--source: no source named '{sourceName}' in {configFile.FullName} (has: {string.Join(", ", settings.Sources.Select(s => s.Name))})");
                }
                else
                {
                    filter = settings.Filter;
                    profile = source.Profile;
                    mapping = source.Mapping;
                    maxLine = settings.MaxLineBytes;
                    if (!hasFormat)
                    {
                        format = source.Format;
                        hasFormat = true;
                    }
                }
            }
            catch (AgentConfigException ex)
            {
                errors.Add("--config: " + ex.Message);
            }
        }
        else if (sourceName is not null)
        {
            errors.Add("--source: needs --config");
        }

        if (!hasFormat && formatText is null && configFile is null)
        {
            errors.Add($"--format: required (one of {SourceFormats.Names}) unless --config is given");
        }

        if (mappingJson is not null)
        {
            try
            {
                var raw = JsonSerializer.Deserialize(mappingJson, ParseJsonContext.Default.FieldMappingConfig);
                mapping = AgentConfigValidator.ValidateMapping(raw, "--mapping", errors) ?? mapping;
            }
            catch (JsonException ex)
            {
                errors.Add($"--mapping: not valid JSON ({ex.Message})");
            }
        }

        if (homeNet.Length > 0)
        {
            var nets = new List<IPNetwork>();
            foreach (var h in homeNet)
            {
                if (NetworkParsing.TryParseNetwork(h, out var n))
                {
                    nets.Add(n);
                }
                else
                {
                    errors.Add($"--home-net: '{h}' is not a CIDR");
                }
            }

            filter = new SightingFilter(nets, []);
        }

        if (tlpText is not null)
        {
            if (IndicatorTypeNames.TryParseTlp(tlpText, out var tlp))
            {
                profile = profile with { Tlp = tlp };
            }
            else
            {
                errors.Add($"--tlp: '{tlpText}' must be CLEAR, GREEN, AMBER, AMBER+STRICT or RED");
            }
        }

        var path = file == FileParser.StandardInput ? file : Path.GetFullPath(file);
        if (path != FileParser.StandardInput && !File.Exists(path))
        {
            errors.Add(Directory.Exists(path) ? $"file: '{path}' is a directory" : $"file: '{path}' not found");
        }

        if (errors.Count > 0)
        {
            foreach (var e in errors)
            {
                Console.Error.WriteLine("error: " + e);
            }

            return 2;
        }

        var diagnostics = new ParseDiagnostics();
        var emitter = new SightingEmitter(profile, filter, diagnostics);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using (var stdout = Console.OpenStandardOutput())
        using (var buffered = new BufferedStream(stdout, 64 * 1024))
        using (var writer = new Utf8JsonWriter(buffered, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            try
            {
                FileParser.Parse(path, format, emitter, mapping, sightings =>
                {
                    if (!summaryOnly)
                    {
                        foreach (var s in sightings)
                        {
                            SightingJsonWriter.Write(writer, buffered, s);
                        }
                    }
                }, maxLine);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"error: reading {path}: {ex.Message}");
                return 1;
            }
            catch (UnauthorizedAccessException ex)
            {
                Console.Error.WriteLine($"error: reading {path}: {ex.Message}");
                return 1;
            }
        }

        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        WriteSummary(Console.Error, diagnostics, elapsed);
        return 0;
    }

    private static void WriteSummary(TextWriter o, ParseDiagnostics d, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"{d.File}: {d.Lines} lines, {d.Sightings} sightings, {d.SkippedCount} skipped, {d.Ignored.Values.Sum()} ignored, {d.Filtered.Values.Sum()} filtered in {elapsed.TotalMilliseconds:F0} ms"));
        Section(o, "skipped", d.Skipped);
        foreach (var s in d.SkippedSamples)
        {
            o.WriteLine(string.Create(inv, $"  {s.File}:{s.Line}: {s.Reason}{(s.Detail is null ? string.Empty : " (" + s.Detail + ")")}"));
        }

        Section(o, "ignored", d.Ignored);
        Section(o, "filtered", d.Filtered);
    }

    private static void Section(TextWriter o, string title, Dictionary<string, long> counts)
    {
        if (counts.Count == 0)
        {
            return;
        }

        o.WriteLine(title + ":");
        foreach (var (reason, count) in counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {count,8}  {reason}"));
        }
    }
}

/// <summary>JSON metadata for the --mapping option.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
[System.Text.Json.Serialization.JsonSerializable(typeof(FieldMappingConfig))]
internal sealed partial class ParseJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
