using System.CommandLine;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;

namespace CyberCoop.Gateway.Cli.Policy;

/// <summary><c>policy test</c>: what a peer would receive for one indicator, and every rule that decided it.</summary>
internal static class PolicyCommand
{
    private static readonly JsonFormatter s_json = new(JsonFormatter.Settings.Default.WithIndentation());

    /// <summary>Builds the <c>policy</c> command group.</summary>
    public static Command Create(TimeProvider time)
    {
        var policy = new Command(
            "policy",
            "Dry-run the outbound (sovereignty) policy of a peer." +
            Environment.NewLine + "Example: policy test --config gateway.json --peer spiffe://fi.cybercoop/gateway/helsinki --indicator '{\"type\":\"domain\",\"value\":\"evil.example\"}'");
        policy.Subcommands.Add(Test(time));
        return policy;
    }

    private static Command Test(TimeProvider time)
    {
        var config = new Option<string>("--config") { Description = "The gateway's config file.", Required = true };
        var peer = new Option<string>("--peer") { Description = "SPIFFE id of the configured peer.", Required = true };
        var indicator = new Option<string>("--indicator")
        {
            Description = "The indicator as JSON: type, value, tlp (default AMBER), confidence (default 50), tags, sectors, sensor, context, description, validUntil.",
        };
        var indicatorFile = new Option<string?>("--indicator-file") { Description = "Read the indicator JSON from this file instead." };
        var stored = new Option<bool>("--stored")
        {
            Description = "Evaluate the node's stored origin view of the indicator (its own agents' sightings only, read from node.storage) " +
                "instead of the indicator as given; only its type and value are used. Content received from peers is never part of it.",
        };
        var command = new Command(
            "test",
            "Normalize an indicator as the node would on ingest, evaluate the peer's outbound policy, and print the decision, " +
            "every rule with pass/fail, and the redacted indicator the peer would receive. Decisions are taken on the origin view: " +
            "what the node's own agents reported, never what peers sent (that leaves only by relay). Changes nothing." +
            Environment.NewLine + "Example: policy test --config gateway.json --peer spiffe://fi.cybercoop/gateway/helsinki " +
            "--indicator '{\"type\":\"domain\",\"value\":\"Evil.Example.\",\"tlp\":\"AMBER\",\"confidence\":80,\"tags\":[\"c2\"],\"sectors\":[\"energy\"]}'" +
            Environment.NewLine + "Example: policy test --config gateway.json --peer spiffe://fi.cybercoop/gateway/helsinki --stored " +
            "--indicator '{\"type\":\"domain\",\"value\":\"evil.example\"}'")
        {
            config, peer, indicator, indicatorFile, stored,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var json = parse.GetValue(indicator);
            var file = parse.GetValue(indicatorFile);
            if ((json is null) == (file is null))
            {
                throw CliException.Usage("give the indicator with exactly one of --indicator '<json>' or --indicator-file <file>");
            }

            var sighting = json is not null ? IndicatorArgument.Parse(json) : IndicatorArgument.ParseFile(file!);
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var peerId = parse.GetValue(peer)!;
            var peerConfig = loaded.Config.Peers.FirstOrDefault(p => string.Equals(p.Id, peerId, StringComparison.Ordinal))
                ?? throw new CliException($"no peer '{peerId}' in {loaded.Path} (configured: {(loaded.Config.Peers.Count == 0 ? "none" : string.Join(", ", loaded.Config.Peers.Select(p => p.Id)))})");

            var node = loaded.Config.Node;
            var nodeId = $"spiffe://{node.TrustDomain}/gateway/{node.Name}";
            var now = time.GetUtcNow();
            var (normalized, error) = PolicyDryRun.Normalize(sighting, nodeId, time);
            if (normalized is null)
            {
                throw new CliException($"the node would reject this indicator on ingest: {error}");
            }

            if (parse.GetValue(stored))
            {
                var storage = loaded.Resolve(node.Storage);
                if (!StoreOpener.IsPostgres(loaded) && !File.Exists(storage))
                {
                    throw new CliException($"no database at '{storage}' (node.storage): the node has not run yet");
                }

                await using var store = await StoreOpener.OpenAsync(loaded, time, ct).ConfigureAwait(false);
                var own = await store.GetOwnViewAsync(normalized.Id, ct).ConfigureAwait(false);
                if (own is null)
                {
                    var merged = await store.GetIndicatorAsync(normalized.Id, ct).ConfigureAwait(false);
                    io.Output.WriteLine($"indicator  {IndicatorTypeNames.ToName(normalized.Type)} {normalized.Value}");
                    io.Output.WriteLine($"id         {normalized.Id}");
                    io.Output.WriteLine($"peer       {peerConfig.Id}");
                    io.Output.WriteLine(merged is null
                        ? "decision   NOT ORIGINATED: not stored at this node"
                        : "decision   NOT ORIGINATED: only received from peers; this node is not an origin for it " +
                          "(peers' content reaches other nations only by relay, under its origin's signature)");
                    return CliExitCodes.Success;
                }

                normalized = own;
            }

            var decision = PolicyDryRun.Evaluate(normalized, peerConfig, now);

            io.Output.WriteLine($"indicator  {IndicatorTypeNames.ToName(normalized.Type)} {normalized.Value} (TLP {TlpNames.ToName(normalized.Tlp)}, confidence {normalized.Confidence})");
            if (parse.GetValue(stored))
            {
                io.Output.WriteLine($"view       origin view: {normalized.Observations.Count} own observation(s); content received from peers is not part of it");
            }

            io.Output.WriteLine($"id         {normalized.Id}");
            io.Output.WriteLine($"peer       {peerConfig.Id}");
            io.Output.WriteLine("decision   " + PolicyDryRun.Summary(decision));
            io.Output.WriteLine("rules:");
            var width = decision.Rules.Max(r => r.Code.Length);
            foreach (var rule in decision.Rules)
            {
                io.Output.WriteLine($"  {(rule.Passed ? "pass" : "FAIL")}  {rule.Code.PadRight(width)}  {rule.Detail}");
            }

            if (decision.Redacted is not null)
            {
                io.Output.WriteLine("the peer would receive:");
                io.Output.WriteLine(s_json.Format(decision.Redacted));
            }

            return CliExitCodes.Success;
        });
        return command;
    }
}
