using System.CommandLine;
using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Interop.Stix;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Cli;

/// <summary><c>indicators export</c>: prints what a node holds, one indicator per line.</summary>
internal static class IndicatorsCommand
{
    public static Command Create(TimeProvider time)
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The node's gateway.json.", Required = true };
        var format = new Option<string>("--format")
        {
            Description = "Output format: jsonl (one indicator per line, with observations), stix (one STIX 2.1 bundle), " +
                "misp-feed (a MISP feed folder: manifest.json, hashes.csv and one event per origin; needs --out).",
            DefaultValueFactory = _ => "jsonl",
        };
        format.AcceptOnlyFromAmong("jsonl", "stix", "misp-feed");
        var origin = new Option<string?>("--origin") { Description = "stix and misp-feed: only content originated by this trust domain (e.g. ee.cybercoop)." };
        var output = new Option<string?>("--out") { Description = "stix: write to this file instead of stdout; misp-feed: this folder (required). jsonl always goes to stdout." };
        var inactive = new Option<bool>("--include-inactive")
        {
            Description = "jsonl: also print suppressed and expired indicators, each with a \"status\" field (withdrawn ones are always printed, as revoked).",
        };
        var export = new Command("export",
            "Print every indicator the node holds. jsonl: type, value, TLP, confidence, times, tags, sectors, " +
            "origin and every observation (which node and sensor saw it, how often). stix: a STIX 2.1 bundle with one indicator " +
            "per (indicator, origin trust domain), TLP 2.0 marking definitions and the origins as identities (never sensor names), " +
            "plus one STIX sighting per allied nation that reported back sightings of this node's own active indicators (its count, " +
            "first and last seen; the nation only, never its sensors); see docs/interoperability.md. Active indicators only, plus withdrawn ones marked revoked (jsonl: withdrawn by every " +
            "origin that published it, \"revoked\": true, \"status\": \"withdrawn\"; stix: the object of each origin that withdrew it, " +
            "revoked: true; misp-feed: that origin's attribute \"deleted\": true). Locally suppressed indicators are left out; expired " +
            "ones too (misp-feed keeps them with to_ids false); jsonl prints both with --include-inactive. Safe while the node runs.\n\n" +
            "Examples:\n  dotnet run --project src/Gateway -- indicators export --config certs-dev/fi.cybercoop/gateway.json > fi.jsonl\n" +
            "  dotnet run --project src/Gateway -- indicators export --config certs-dev/fi.cybercoop/gateway.json --format stix --out fi-stix.json")
        {
            config,
            format,
            origin,
            output,
            inactive,
        };
        CliAction.Set(export, async (parse, io, ct) =>
        {
            var loaded = GatewayConfigFile.Load(parse.GetValue(config)!.FullName);
            var storage = loaded.Resolve(loaded.Config.Node.Storage);
            if (!StoreOpener.IsPostgres(loaded) && !File.Exists(storage))
            {
                throw new CliException($"no database at '{storage}' (node.storage): the node has not run yet");
            }

            await using var store = await StoreOpener.OpenAsync(loaded, time, ct).ConfigureAwait(false);
            var chosen = parse.GetValue(format)!;
            var onlyOrigin = parse.GetValue(origin);
            var outPath = parse.GetValue(output);
            if (chosen == "stix")
            {
                await ExportStixAsync(store, loaded.Config.Node.TrustDomain, onlyOrigin, outPath, io, time.GetUtcNow(), ct).ConfigureAwait(false);
                return CliExitCodes.Success;
            }

            if (chosen == "misp-feed")
            {
                if (string.IsNullOrEmpty(outPath))
                {
                    throw new CliException("--format misp-feed writes a folder: name it with --out DIR", CliExitCodes.Usage);
                }

                var written = await Interop.Misp.MispFeedExporter.ExportAsync(store, store, loaded.Config.Node.TrustDomain, outPath, onlyOrigin, time, ct).ConfigureAwait(false);
                await io.Output.WriteLineAsync($"wrote MISP feed to {Path.GetFullPath(outPath)}: {written.Events} event(s), {written.Attributes} attribute(s)").ConfigureAwait(false);
                return CliExitCodes.Success;
            }

            if (!string.IsNullOrEmpty(outPath))
            {
                throw new CliException("--out is for --format stix and misp-feed; jsonl goes to stdout", CliExitCodes.Usage);
            }

            using var buffer = new MemoryStream();
            await using var writer = new Utf8JsonWriter(buffer);
            var withdrawals = await store.ReadAllWithdrawalsAsync(ct).ConfigureAwait(false);
            var suppressions = await store.ReadSuppressionsAsync(ct).ConfigureAwait(false);
            var includeInactive = parse.GetValue(inactive);
            var now = time.GetUtcNow();
            await foreach (var indicator in store.ReadAllIndicatorsAsync(ct).ConfigureAwait(false))
            {
                var status = Lifecycle.IndicatorStatus.Evaluate(indicator, withdrawals.GetValueOrDefault(indicator.Id), suppressions.GetValueOrDefault(indicator.Id), now);
                if (status.Status is Lifecycle.IndicatorStatus.Suppressed or Lifecycle.IndicatorStatus.Expired && !includeInactive)
                {
                    continue;
                }

                Write(writer, indicator, status.Status);
                await writer.FlushAsync(ct).ConfigureAwait(false);
                await io.Output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length)).ConfigureAwait(false);
                buffer.SetLength(0);
                writer.Reset(buffer);
            }

            return CliExitCodes.Success;
        });
        return new Command("indicators", "Inspect the indicators a node holds, withdraw the ones it originated, suppress others locally.")
        {
            export,
            IndicatorLifecycleCommands.Show(time),
            IndicatorLifecycleCommands.Withdraw(),
            IndicatorLifecycleCommands.Suppress(),
        };
    }

    private static async Task ExportStixAsync(GatewayStore store, string ownDomain, string? onlyOrigin, string? outPath, CliIo io, DateTimeOffset now, CancellationToken ct)
    {
        var stream = string.IsNullOrEmpty(outPath) ? new MemoryStream() : (Stream)new FileStream(outPath, FileMode.Create, FileAccess.Write, FileShare.None);
        await using (stream.ConfigureAwait(false))
        {
            await StixBundleExport.WriteAsync(store, store, ownDomain, onlyOrigin, stream, now, ct).ConfigureAwait(false);
            if (stream is MemoryStream memory)
            {
                await io.Output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(memory.GetBuffer(), 0, (int)memory.Length)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Writes one indicator as a JSON object; one that is not active gets a <c>status</c> field, and a withdrawn one
    /// <c>"revoked": true</c> too.
    /// </summary>
    internal static void Write(Utf8JsonWriter writer, Indicator indicator, string status = Lifecycle.IndicatorStatus.Active)
    {
        writer.WriteStartObject();
        if (status != Lifecycle.IndicatorStatus.Active)
        {
            writer.WriteString("status", status);
            if (status == Lifecycle.IndicatorStatus.Withdrawn)
            {
                writer.WriteBoolean("revoked", true);
            }
        }

        writer.WriteString("id", indicator.Id);
        writer.WriteString("type", IndicatorTypeNames.ToName(indicator.Type));
        writer.WriteString("value", indicator.Value);
        writer.WriteString("tlp", TlpNames.ToName(indicator.Tlp));
        writer.WriteNumber("confidence", indicator.Confidence);
        WriteTime(writer, "first_seen", indicator.FirstSeen);
        WriteTime(writer, "last_seen", indicator.LastSeen);
        WriteTime(writer, "valid_until", indicator.ValidUntil);
        WriteStrings(writer, "tags", indicator.Tags);
        WriteStrings(writer, "sectors", indicator.Sectors);
        if (indicator.Description.Length > 0)
        {
            writer.WriteString("description", indicator.Description);
        }

        writer.WriteString("origin_domain", indicator.OriginDomain);
        writer.WriteStartArray("observations");
        foreach (var observation in indicator.Observations)
        {
            writer.WriteStartObject();
            writer.WriteString("node", observation.Node);
            writer.WriteString("sensor", observation.Sensor);
            writer.WriteNumber("count", observation.Count);
            writer.WriteNumber("confidence", observation.Confidence);
            WriteTime(writer, "first_seen", observation.FirstSeen);
            WriteTime(writer, "last_seen", observation.LastSeen);
            if (observation.Context.Count > 0)
            {
                writer.WriteStartObject("context");
                foreach (var (key, value) in observation.Context.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, Google.Protobuf.WellKnownTypes.Timestamp? time)
    {
        if (time is not null)
        {
            writer.WriteString(name, time.ToDateTimeOffset());
        }
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }
}
