using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Cli.Peers;

/// <summary><c>peers</c>: pin, list, show and remove allied gateways in <c>gateway.json</c>.</summary>
internal static class PeersCommand
{
    /// <summary>Builds the <c>peers</c> command group; <paramref name="prompt"/> confirms fingerprints (tests pass their own).</summary>
    public static Command Create(OperatorPrompt? prompt = null)
    {
        var peers = new Command(
            "peers",
            "Add (pinning the peer's root), list, show and remove allied gateways in gateway.json; a running node reloads." +
            Environment.NewLine + "Example: peers list --config gateway.json");
        peers.Subcommands.Add(Add(prompt));
        peers.Subcommands.Add(List());
        peers.Subcommands.Add(Show());
        peers.Subcommands.Add(Remove());
        return peers;
    }

    private static Option<string> ConfigOption() =>
        new("--config") { Description = "The gateway's config file.", Required = true };

    private static Command Add(OperatorPrompt? prompt)
    {
        var config = ConfigOption();
        var id = new Option<string>("--id") { Description = "SPIFFE id of the peer gateway, e.g. spiffe://fi.cybercoop/gateway/helsinki.", Required = true };
        var address = new Option<string>("--address") { Description = "Where to dial it, https://host:port.", Required = true };
        var root = new Option<string?>("--root") { Description = "PEM file of the peer domain's root certificate (received out of band); not needed with --fetch." };
        var pin = new Option<string?>("--pin") { Description = "The root's SPKI pin (sha256:<hex>) as the peer's operator read it to you; the root must match it." };
        var fetch = new Option<bool>("--fetch") { Description = "Connect to the running peer at --address (presenting this node's gateway certificate), read its root from its signed trust bundle, and check that the certificate it presents is --id and chains to that root. The root must still match --pin (or --root), or be confirmed at a terminal." };
        var ceiling = new Option<string>("--tlp-ceiling") { Description = "Highest TLP shared with the peer: CLEAR, GREEN, AMBER or AMBER+STRICT.", DefaultValueFactory = _ => "AMBER" };
        var minConfidence = new Option<int>("--min-confidence") { Description = "Share nothing below this confidence (0-100)." };
        var allowRelay = new Option<bool>("--allow-relay") { Description = "Let the peer relay CLEAR/GREEN content to its own peers." };
        var suite = new Option<string?>("--suite")
        {
            Description = "Pin the suite used with this peer: 'hybrid' (X25519+ML-KEM-768, Ed25519ph+ML-DSA-65) or 'classic'. Without it the " +
                "strongest suite both nodes announce is used. Sending waits while the peer does not announce the pinned suite, and the " +
                "peer's envelopes in a weaker suite are refused (suite-downgrade). Must not be below node.minimumSuite.",
        };
        suite.AcceptOnlyFromAmong("hybrid", "classic");
        var command = new Command(
            "add",
            "Add an allied gateway: its root (from --root, or read from the running peer with --fetch) is pinned only when it " +
            "matches the pin you were given (or, at a terminal without --pin, after you compare the fingerprint shown and type yes). " +
            "The root is written next to the config." +
            Environment.NewLine + "Example: peers add --config gateway.json --id spiffe://fi.cybercoop/gateway/helsinki " +
            "--address https://127.0.0.1:7402 --fetch --pin sha256:3b1f..." +
            Environment.NewLine + "Example: peers add --config gateway.json --id spiffe://fi.cybercoop/gateway/helsinki " +
            "--address https://127.0.0.1:7402 --root fi-root.crt --pin sha256:3b1f...")
        {
            config, id, address, root, pin, fetch, ceiling, minConfidence, allowRelay, suite,
        };
        CliAction.Set(command, (parse, io, cancellationToken) => AddAsync(parse, io, new AddOptions(config, id, address, root, pin, fetch, ceiling, minConfidence, allowRelay, suite), cancellationToken), prompt);
        return command;
    }

    private sealed record AddOptions(
        Option<string> Config, Option<string> Id, Option<string> Address, Option<string?> Root, Option<string?> Pin, Option<bool> Fetch,
        Option<string> Ceiling, Option<int> MinConfidence, Option<bool> AllowRelay, Option<string?> Suite);

    private static async Task<int> AddAsync(ParseResult parse, CliIo io, AddOptions o, CancellationToken cancellationToken)
    {
        var request = new PeerAddRequest
        {
            Id = parse.GetValue(o.Id)!,
            Address = parse.GetValue(o.Address)!,
            RootPath = parse.GetValue(o.Root),
            Fetch = parse.GetValue(o.Fetch),
            Pin = parse.GetValue(o.Pin),
            TlpCeiling = parse.GetValue(o.Ceiling)!,
            MinConfidence = parse.GetValue(o.MinConfidence),
            AllowRelay = parse.GetValue(o.AllowRelay),
            Suite = parse.GetValue(o.Suite),
        };
        var peer = await PeerAddition.AddAsync(io, parse.GetValue(o.Config)!, request, cancellationToken).ConfigureAwait(false);
        io.Output.WriteLine($"added peer {peer.Id} at {peer.Address}, root pinned {peer.RootPin}" + (peer.Suite is null ? "" : $", suite {peer.Suite} pinned"));
        return CliExitCodes.Success;
    }

    private static Command List()
    {
        var config = ConfigOption();
        var command = new Command(
            "list",
            "List the configured peers with address, outbound TLP ceiling, relay permission and pinned root." +
            Environment.NewLine + "Example: peers list --config gateway.json")
        {
            config,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            if (loaded.Config.Peers.Count == 0)
            {
                io.Output.WriteLine("no peers configured (add one with 'peers add')");
                return Task.FromResult(CliExitCodes.Success);
            }

            io.WriteTable(
                ["peer", "address", "tlp ceiling", "relay", "root pin"],
                loaded.Config.Peers.Select(p => (IReadOnlyList<string>)[p.Id, p.Address, p.Outbound.TlpCeiling, p.Outbound.AllowRelay ? "yes" : "no", p.RootPin]));
            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static Command Show()
    {
        var config = ConfigOption();
        var id = new Argument<string>("id") { Description = "SPIFFE id of the peer." };
        var command = new Command(
            "show",
            "Show one peer: address, pinned root (with its subject and validity) and its outbound and inbound policy." +
            Environment.NewLine + "Example: peers show --config gateway.json spiffe://fi.cybercoop/gateway/helsinki")
        {
            config, id,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var peer = Find(loaded, parse.GetValue(id)!);
            using var root = CertificateFiles.LoadCertificate(loaded.Resolve(peer.Root), "root certificate");
            var o = peer.Outbound;
            var i = peer.Inbound;
            var lines = new (string, string)[]
            {
                ("peer", peer.Id),
                ("trust domain", peer.TrustDomain),
                ("address", peer.Address),
                ("root file", loaded.Resolve(peer.Root)),
                ("root subject", root.Subject),
                ("root valid", $"{CertificateFiles.Format(root.NotBefore)} .. {CertificateFiles.Format(root.NotAfter)}"),
                ("root pin", peer.RootPin),
                ("suite", peer.Suite ?? "negotiated"),
                ("outbound tlp ceiling", o.TlpCeiling + (o.AllowRed ? " (RED allowed)" : "")),
                ("outbound types", o.AllowedTypes.Count == 0 ? "all" : string.Join(", ", o.AllowedTypes)),
                ("outbound min confidence", o.MinConfidence.ToString(CultureInfo.InvariantCulture)),
                ("outbound sectors", o.Sectors.Count == 0 ? "all" : string.Join(", ", o.Sectors)),
                ("outbound blocked tags", o.BlockedTags.Count == 0 ? "none" : string.Join(", ", o.BlockedTags)),
                ("outbound required tags", o.RequiredTags.Count == 0 ? "none" : string.Join(", ", o.RequiredTags)),
                ("outbound redact", o.Redact is null ? "sensor, context (default)" : o.Redact.Count == 0 ? "nothing" : string.Join(", ", o.Redact)),
                ("outbound embargo", $"{o.EmbargoSeconds} s"),
                ("outbound relay", o.AllowRelay ? "allowed (CLEAR/GREEN only)" : "not allowed"),
                ("inbound mode", i.Mode),
                ("inbound trust weight", i.TrustWeight.ToString("0.##", CultureInfo.InvariantCulture)),
                ("inbound types", i.AllowedTypes.Count == 0 ? "all" : string.Join(", ", i.AllowedTypes)),
                ("inbound tlp floor", i.TlpFloor),
            };
            var width = lines.Max(l => l.Item1.Length);
            foreach (var (key, value) in lines)
            {
                io.Output.WriteLine($"{key.PadRight(width)}  {value}");
            }

            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static Command Remove()
    {
        var config = ConfigOption();
        var id = new Argument<string>("id") { Description = "SPIFFE id of the peer." };
        var command = new Command(
            "remove",
            "Remove a peer from gateway.json (validated, atomic write, .bak kept); a running node reloads, closes its stream to the peer and ends the peer's open streams with PermissionDenied (peer removed)." +
            Environment.NewLine + "Example: peers remove --config gateway.json spiffe://fi.cybercoop/gateway/helsinki")
        {
            config, id,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var peer = Find(loaded, parse.GetValue(id)!);
            await ConfigEdit.ApplyAsync(io, loaded.Path, c => c with { Peers = [.. c.Peers.Where(p => p.Id != peer.Id)] }, cancellationToken).ConfigureAwait(false);
            io.Output.WriteLine($"removed peer {peer.Id} (its root file {loaded.Resolve(peer.Root)} was left in place)");
            return CliExitCodes.Success;
        });
        return command;
    }

    private static PeerConfig Find(LoadedConfig loaded, string id)
    {
        var peer = loaded.Config.Peers.FirstOrDefault(p => string.Equals(p.Id, id, StringComparison.Ordinal));
        if (peer is null)
        {
            var known = loaded.Config.Peers.Count == 0 ? "none" : string.Join(", ", loaded.Config.Peers.Select(p => p.Id));
            throw new CliException($"no peer '{id}' in {loaded.Path} (configured: {known})");
        }

        return peer;
    }
}
