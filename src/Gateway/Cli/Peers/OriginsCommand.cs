using System.CommandLine;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Cli.Peers;

/// <summary>
/// <c>origins</c>: roots pinned only to verify the origin signature of content a peer relays from a
/// domain this node does not peer with (<c>trustedOrigins</c> in gateway.json). Such a domain's nodes
/// still cannot connect to this node.
/// </summary>
internal static class OriginsCommand
{
    /// <summary>Builds the <c>origins</c> command group.</summary>
    public static Command Create(OperatorPrompt? prompt = null)
    {
        var origins = new Command(
            "origins",
            "Pin, list and remove roots of domains whose relayed content this node verifies without peering with them (trustedOrigins)." +
            Environment.NewLine + "Example: origins list --config gateway.json");
        origins.Subcommands.Add(Add(prompt));
        origins.Subcommands.Add(List());
        origins.Subcommands.Add(Remove());
        return origins;
    }

    private static Option<string> ConfigOption() =>
        new("--config") { Description = "The gateway's config file.", Required = true };

    private static Command Add(OperatorPrompt? prompt)
    {
        var config = ConfigOption();
        var domain = new Option<string>("--domain") { Description = "Trust domain of the origin, e.g. ee.cybercoop.", Required = true };
        var root = new Option<string>("--root") { Description = "PEM file of that domain's root certificate.", Required = true };
        var pin = new Option<string?>("--pin") { Description = "The root's SPKI pin (sha256:<hex>) as that domain's operator gave it; the root must match it." };
        var command = new Command(
            "add",
            "Pin the root of a domain whose content reaches this node only through relays, so its origin signatures can be " +
            "verified. Refused unless the root matches --pin (or, at a terminal, you confirm the fingerprint shown)." +
            Environment.NewLine + "Example: origins add --config gateway.json --domain ee.cybercoop --root ee-root.crt --pin sha256:9654...")
        {
            config, domain, root, pin,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var trustDomain = parse.GetValue(domain)!;
            if (!TrustDomains.IsValid(trustDomain, out var domainError))
            {
                throw CliException.Usage($"--domain: {domainError}");
            }

            string? expectedPin = null;
            if (parse.GetValue(pin) is { } pinText)
            {
                if (!SpkiPin.TryNormalize(pinText, out var normalized, out var pinError))
                {
                    throw CliException.Usage($"--pin: {pinError}");
                }

                expectedPin = normalized;
            }

            var current = ConfigEdit.Load(parse.GetValue(config)!);
            if (current.Config.TrustedOrigins.Any(o => o.TrustDomain == trustDomain))
            {
                throw new CliException($"{trustDomain} is already a trusted origin in {current.Path}; remove it first to replace its root");
            }

            if (current.Config.Peers.FirstOrDefault(p => p.TrustDomain == trustDomain) is { } peer)
            {
                throw new CliException($"{trustDomain} is already pinned as the domain of peer {peer.Id}; its root verifies relayed content too");
            }

            using var certificate = CertificateFiles.LoadCertificate(parse.GetValue(root)!, "root certificate");
            var actualPin = SpkiPin.Compute(certificate);
            RootPinning.Confirm(io, trustDomain, $"origin    {trustDomain}", certificate, actualPin, expectedPin);
            var (relative, full, created) = RootPinning.CopyRoot(current, trustDomain, certificate, actualPin);
            var origin = new TrustedOriginConfig { TrustDomain = trustDomain, Root = relative, RootPin = actualPin };
            try
            {
                await ConfigEdit.ApplyAsync(io, current.Path, c => c with { TrustedOrigins = [.. c.TrustedOrigins, origin] }, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                if (created)
                {
                    File.Delete(full);
                }

                throw;
            }

            io.Output.WriteLine($"trusting origin signatures of {trustDomain}, root pinned {actualPin}");
            return CliExitCodes.Success;
        }, prompt);
        return command;
    }

    private static Command List()
    {
        var config = ConfigOption();
        var command = new Command(
            "list",
            "List the trusted origins with their pinned roots." + Environment.NewLine + "Example: origins list --config gateway.json")
        {
            config,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            if (loaded.Config.TrustedOrigins.Count == 0)
            {
                io.Output.WriteLine("no trusted origins (peers' roots already verify their own content)");
                return Task.FromResult(CliExitCodes.Success);
            }

            io.WriteTable(["trust domain", "root", "root pin"], loaded.Config.TrustedOrigins.Select(o => (IReadOnlyList<string>)[o.TrustDomain, o.Root, o.RootPin]));
            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static Command Remove()
    {
        var config = ConfigOption();
        var domain = new Argument<string>("domain") { Description = "Trust domain of the origin." };
        var command = new Command(
            "remove",
            "Stop trusting a domain's origin signatures (its relayed content is then recorded as unverifiable)." +
            Environment.NewLine + "Example: origins remove --config gateway.json ee.cybercoop")
        {
            config, domain,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var loaded = ConfigEdit.Load(parse.GetValue(config)!);
            var trustDomain = parse.GetValue(domain)!;
            if (!loaded.Config.TrustedOrigins.Any(o => o.TrustDomain == trustDomain))
            {
                var known = loaded.Config.TrustedOrigins.Count == 0 ? "none" : string.Join(", ", loaded.Config.TrustedOrigins.Select(o => o.TrustDomain));
                throw new CliException($"{trustDomain} is not a trusted origin in {loaded.Path} (trusted: {known})");
            }

            await ConfigEdit.ApplyAsync(io, loaded.Path, c => c with { TrustedOrigins = [.. c.TrustedOrigins.Where(o => o.TrustDomain != trustDomain)] }, cancellationToken).ConfigureAwait(false);
            io.Output.WriteLine($"no longer trusting origin signatures of {trustDomain}");
            return CliExitCodes.Success;
        });
        return command;
    }
}
