using System.CommandLine;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using Google.Protobuf;

namespace CyberCoop.Gateway.Cli.Policy;

/// <summary><c>policy test</c>: what a peer would receive for one indicator, and every rule that decided it.</summary>
internal static class PolicyCommand
{
    private static readonly JsonFormatter s_json = new(JsonFormatter.Settings.Default.WithIndentation());

    /// <summary>Builds the <c>policy</c> command group.</summary>
    public static Command Create()
    {
        var policy = new Command(
            "policy",
            "Dry-run the outbound (sovereignty) policy of a peer." +
            Environment.NewLine + "Example: policy test --config gateway.json --peer spiffe://fi.cybercoop/gateway/helsinki --indicator '{\"type\":\"domain\",\"value\":\"evil.example\"}'");
        policy.Subcommands.Add(Test());
        return policy;
    }

    private static Command Test()
    {
        var config = new Option<string>("--config") { Description = "The gateway's config file.", Required = true };
        var peer = new Option<string>("--peer") { Description = "SPIFFE id of the configured peer.", Required = true };
        var indicator = new Option<string>("--indicator")
        {
            Description = "The indicator as JSON: type, value, tlp (default AMBER), confidence (default 50), tags, sectors, sensor, context, description, validUntil.",
        };
        var indicatorFile = new Option<string?>("--indicator-file") { Description = "Read the indicator JSON from this file instead." };
        var command = new Command(
            "test",
            "Normalize an indicator as the node would on ingest, evaluate the peer's outbound policy, and print the decision, " +
            "every rule with pass/fail, and the redacted indicator the peer would receive. Changes nothing." +
            Environment.NewLine + "Example: policy test --config gateway.json --peer spiffe://fi.cybercoop/gateway/helsinki " +
            "--indicator '{\"type\":\"domain\",\"value\":\"Evil.Example.\",\"tlp\":\"AMBER\",\"confidence\":80,\"tags\":[\"c2\"],\"sectors\":[\"energy\"]}'")
        {
            config, peer, indicator, indicatorFile,
        };
        CliAction.Set(command, (parse, io, _) =>
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
            var now = TimeProvider.System.GetUtcNow();
            var outcome = new SightingValidator(TimeProvider.System).Validate(sighting, nodeId, "policy-test");
            if (!outcome.IsValid)
            {
                throw new CliException($"the node would reject this indicator on ingest: {outcome.Error}");
            }

            var normalized = outcome.Indicator;
            var decision = new OutboundPolicyEvaluator().Evaluate(normalized, PolicyMapper.ToOutbound(peerConfig.Outbound), now);

            io.Output.WriteLine($"indicator  {IndicatorTypeNames.ToName(normalized.Type)} {normalized.Value} (TLP {TlpNames.ToName(normalized.Tlp)}, confidence {normalized.Confidence})");
            io.Output.WriteLine($"id         {normalized.Id}");
            io.Output.WriteLine($"peer       {peerConfig.Id}");
            io.Output.WriteLine(decision.Shared
                ? "decision   SHARED"
                : decision.EmbargoUntil is { } until
                    ? $"decision   EMBARGOED until {until:O} (shared then if nothing else changes)"
                    : $"decision   WITHHELD ({decision.Reason})");
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

            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }
}
