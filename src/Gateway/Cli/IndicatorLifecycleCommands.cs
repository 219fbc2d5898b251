using System.CommandLine;
using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Grpc.Core;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// <c>indicators withdraw</c>, <c>indicators suppress</c> (over the running node's admin socket) and
/// <c>indicators show</c> (read from the node's database, safe while it runs).
/// </summary>
internal static class IndicatorLifecycleCommands
{
    /// <summary>Builds <c>withdraw</c>.</summary>
    public static Command Withdraw()
    {
        var (config, indicator, reason) = Arguments();
        var command = new Command("withdraw",
            "Withdraw an indicator this node originated (e.g. a false positive) federation-wide: the node signs a withdrawal " +
            "and delivers it, sealed, to every peer it sent the indicator to; peers that relayed it forward the withdrawal " +
            "along the same paths. Receivers keep the indicator for audit, marked withdrawn. Only the origin can withdraw; " +
            "for an indicator received from a peer use 'indicators suppress'. Needs the running node (admin socket).\n\n" +
            "Example:\n  indicators withdraw ipv4:203.0.113.7 --reason \"CDN address, false positive\" --config gateway.json")
        {
            config, indicator, reason,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var id = ParseIndicator(parse.GetValue(indicator)!);
            var response = await CallAsync(parse.GetValue(config)!, (admin, token) => admin.Lifecycle.WithdrawAsync(
                new WithdrawRequest { IndicatorId = id, Reason = parse.GetValue(reason)! },
                deadline: AdminSocketClient.Deadline, cancellationToken: token).ResponseAsync, ct).ConfigureAwait(false);

            await io.Output.WriteLineAsync(response.Peers.Count == 0
                ? $"withdrawn {id} (withdrawal {response.WithdrawalId}); no peer had received it, nothing to send"
                : $"withdrawn {id} (withdrawal {response.WithdrawalId}); queued to {string.Join(", ", response.Peers)}").ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return command;
    }

    /// <summary>Builds <c>suppress</c>.</summary>
    public static Command Suppress()
    {
        var (config, indicator, reason) = Arguments();
        var command = new Command("suppress",
            "Suppress an indicator on this node only (a local false-positive decision): it is left out of exports and of " +
            "sighting reports here, and nothing is sent to any peer. Needs the running node (admin socket).\n\n" +
            "Example:\n  indicators suppress domain:cdn.example --reason \"shared hosting, blocks our users\" --config gateway.json")
        {
            config, indicator, reason,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var id = ParseIndicator(parse.GetValue(indicator)!);
            var response = await CallAsync(parse.GetValue(config)!, (admin, token) => admin.Lifecycle.SuppressAsync(
                new SuppressRequest { IndicatorId = id, Reason = parse.GetValue(reason)! },
                deadline: AdminSocketClient.Deadline, cancellationToken: token).ResponseAsync, ct).ConfigureAwait(false);

            await io.Output.WriteLineAsync(response.Changed ? $"suppressed {id} on this node" : $"{id} was already suppressed on this node").ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return command;
    }

    /// <summary>Builds <c>show</c>.</summary>
    public static Command Show(TimeProvider time)
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The node's gateway.json.", Required = true };
        var indicator = new Argument<string>("indicator") { Description = "Indicator id (UUID) or type:value, e.g. ipv4:203.0.113.7." };
        var command = new Command("show",
            "Show one indicator as JSON: the stored record, its lifecycle status (active, expired, withdrawn, suppressed), " +
            "every withdrawal recorded for it, and the sightings peers reported back (which nations saw it, how often, when). Safe while the node runs.\n\n" +
            "Example:\n  indicators show ipv4:203.0.113.7 --config gateway.json")
        {
            config, indicator,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var id = ParseIndicator(parse.GetValue(indicator)!);
            var loaded = GatewayConfigFile.Load(parse.GetValue(config)!.FullName);
            var storage = loaded.Resolve(loaded.Config.Node.Storage);
            if (!StoreOpener.IsPostgres(loaded) && !File.Exists(storage))
            {
                throw new CliException($"no database at '{storage}' (node.storage): the node has not run yet");
            }

            await using var store = await StoreOpener.OpenAsync(loaded, time, ct).ConfigureAwait(false);
            var stored = await store.GetIndicatorAsync(id, ct).ConfigureAwait(false)
                ?? throw new CliException($"this node holds no indicator {id}");
            var lifecycle = await Lifecycle.IndicatorStatus.ReadAsync(store, stored, time.GetUtcNow(), ct).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                writer.WriteStartObject();
                writer.WritePropertyName("indicator");
                IndicatorsCommand.Write(writer, stored);
                lifecycle.Write(writer);
                WriteSightings(writer, await store.ReadReceivedSightingsAsync(stored.Id, ct).ConfigureAwait(false));
                writer.WriteEndObject();
            }

            await io.Output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return command;
    }

    /// <summary>The sightings peers reported back, one object per reporting node with its nation (trust domain).</summary>
    private static void WriteSightings(Utf8JsonWriter writer, IReadOnlyList<ReceivedSightings> sightings)
    {
        writer.WriteStartArray("sightings");
        foreach (var s in sightings)
        {
            writer.WriteStartObject();
            writer.WriteString("nation", Crypto.SpiffeId.TryParse(s.Reporter, out var id, out _) ? id.TrustDomain : s.Reporter);
            writer.WriteString("reporter", s.Reporter);
            writer.WriteNumber("count", s.Count);
            writer.WriteString("first_seen", s.FirstSeen);
            writer.WriteString("last_seen", s.LastSeen);
            writer.WriteStartArray("sectors");
            foreach (var sector in s.Sectors)
            {
                writer.WriteStringValue(sector);
            }

            writer.WriteEndArray();
            writer.WriteNumber("reports", s.Reports);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// The indicator id named by <paramref name="text"/>: a canonical UUID as is, or <c>type:value</c> normalized as an
    /// agent's sighting would be (so <c>domain:Example.COM</c> names example.com).
    /// </summary>
    internal static string ParseIndicator(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Guid.TryParseExact(text, "D", out var guid))
        {
            return guid.ToString("D");
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw CliException.Usage($"indicator '{text}' is neither an indicator id (UUID) nor type:value (e.g. ipv4:203.0.113.7)");
        }

        if (!IndicatorTypeNames.TryParse(text[..colon], out var type))
        {
            throw CliException.Usage($"indicator '{text}': unknown type '{text[..colon]}'");
        }

        var normalized = IndicatorNormalizer.Normalize(type, text[(colon + 1)..]);
        return normalized.Ok
            ? IndicatorIds.Compute(type, normalized.Value)
            : throw CliException.Usage($"indicator '{text}': {normalized.Error}");
    }

    private static (Option<string> Config, Argument<string> Indicator, Option<string> Reason) Arguments() =>
    (
        new Option<string>("--config", "-c") { Description = "The node's gateway.json (its node.adminSocket is dialled).", Required = true },
        new Argument<string>("indicator") { Description = "Indicator id (UUID) or type:value, e.g. ipv4:203.0.113.7." },
        new Option<string>("--reason") { Description = "Why, 1-1024 bytes of text; recorded in the audit log (and, for withdraw, sent to peers).", Required = true }
    );

    /// <summary>
    /// Makes one call to the running node over the admin socket named by the config; a refusal is explained to the
    /// operator (no node listening, permission, the node's own message) instead of surfacing as an RpcException.
    /// </summary>
    private static async Task<T> CallAsync<T>(string configPath, Func<AdminSocketClient, CancellationToken, Task<T>> call, CancellationToken ct)
    {
        var loaded = ConfigEdit.Load(configPath);
        using var admin = AdminSocketClient.Connect(loaded.Resolve(loaded.Config.Node.AdminSocket));
        try
        {
            return await call(admin, ct).ConfigureAwait(false);
        }
        catch (RpcException ex) when (!ct.IsCancellationRequested)
        {
            throw admin.Explain(ex);
        }
    }
}
