using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Trust;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>
/// <c>certs revoke</c>, <c>certs bundle show|sign</c> and <c>certs rotate-root</c>: the domain's root-signed trust
/// bundle, kept beside the root (<c>trust-bundle.pb</c>), re-signed offline with the root key at every change.
/// </summary>
internal static class TrustBundleCommands
{
    /// <summary><c>certs revoke</c>.</summary>
    public static Command Revoke(TimeProvider time)
    {
        var caDirectory = CaDirectoryOption();
        var serial = new Option<string>("--serial") { Description = "Serial number of the certificate to revoke (hex, as 'certs issue' printed it; ':' and 0x allowed).", Required = true };
        var bundle = BundleOption();
        var days = BundleDaysOption();
        var config = ConfigOption();
        var command = new Command(
            "revoke",
            "Revoke a certificate of the trust domain by serial: adds it to the domain's root-signed trust bundle and re-signs " +
            "the bundle with the root key (sequence + 1). With --config the bundle is installed for that gateway and a running " +
            "one reloads: it refuses the certificate at once and its peers within one refresh interval." +
            Environment.NewLine + "Example: certs revoke --ca-dir ca --serial 3F2A9C01D4 --config node/gateway.json")
        {
            caDirectory, serial, bundle, days, config,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var normalized = CertsCommand.NormalizeSerial(parse.GetValue(serial)!);
            var lifetime = TrustBundleEditing.Lifetime(parse.GetValue(days), "--bundle-days");
            using var edit = await TrustBundleEdit.OpenAsync(parse.GetValue(caDirectory)!, parse.GetValue(bundle), lifetime, time, ct).ConfigureAwait(false);
            if (edit.Previous.RevokedSerials.Contains(normalized, StringComparer.Ordinal))
            {
                io.Output.WriteLine($"serial {normalized} is already revoked in sequence {edit.Previous.Sequence}; nothing changed");
                return CliExitCodes.Success;
            }

            edit.Next(b => b.RevokedSerials.Add(normalized), parse.GetValue(config));
            io.Output.WriteLine($"revoked serial {normalized}");
            await edit.PublishAsync(io, ct).ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>certs rotate-root</c>.</summary>
    public static Command RotateRoot(TimeProvider time)
    {
        var caDirectory = CaDirectoryOption();
        var rootDays = new Option<int>("--days") { Description = "Lifetime of the new root in days.", DefaultValueFactory = _ => 3650 };
        var bundle = BundleOption();
        var days = BundleDaysOption();
        var config = ConfigOption();
        var command = new Command(
            "rotate-root",
            "Replace the domain's root without new pins at the peers (TUF-style): creates a new root (root.crt, root.key mode 0600; " +
            "the old pair moves to retired/), and signs a trust bundle listing the old and the new root with BOTH keys (sequence + 1). " +
            "Peers that trusted the old root accept the new one from it. Then issue certificates from the new root, and once every " +
            "peer has fetched the bundle drop the old root with 'certs bundle sign --drop-root <old pin>'." +
            Environment.NewLine + "Example: certs rotate-root --ca-dir ca --config node/gateway.json")
        {
            caDirectory, rootDays, bundle, days, config,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var rootLifetime = CertificateFiles.Days(parse.GetValue(rootDays), 20 * 365, "--days");
            var lifetime = TrustBundleEditing.Lifetime(parse.GetValue(days), "--bundle-days");
            using var edit = await TrustBundleEdit.OpenAsync(parse.GetValue(caDirectory)!, parse.GetValue(bundle), lifetime, time, ct).ConfigureAwait(false);
            var (ca, path) = (edit.Ca, edit.Path);
            if (edit.Previous.Roots.Count >= TrustBundleVerifier.MaxRoots)
            {
                throw new CliException($"the bundle already lists {edit.Previous.Roots.Count} roots; drop old ones first ('certs bundle sign --drop-root')");
            }

            var (retiredCertificate, retiredKey) = DomainCaFolder.RetiredPaths(ca.Directory, ca.Current.Pin);
            CertificateFiles.RefuseExisting(retiredCertificate, retiredKey);
            using var fresh = CertificateAuthority.CreateRoot(ca.TrustDomain, time, rootLifetime);
            var next = edit.Next(b => b.RootCertificates.Add(Google.Protobuf.ByteString.CopyFrom(fresh.Certificate.RawData)), parse.GetValue(config), [fresh]);

            // Order keeps the folder usable if interrupted: the new pair is staged, the old pair kept in retired/, the
            // bundle (which lists both, so the old root.crt still matches it) written, and only then the pair swapped.
            var staging = Path.Combine(ca.Directory, ".rotate-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(staging);
            try
            {
                var stagedCertificate = Path.Combine(staging, CertificateFiles.RootCertificateName);
                var stagedKey = Path.Combine(staging, CertificateFiles.RootKeyName);
                fresh.Save(stagedCertificate, stagedKey);
                CertificateFiles.EnsureDirectory(Path.GetDirectoryName(retiredKey)!);
                ca.Current.Save(retiredCertificate, retiredKey);
                TrustBundleFile.Write(path, next.Signed);
                File.Move(stagedKey, Path.Combine(ca.Directory, CertificateFiles.RootKeyName), overwrite: true);
                File.Move(stagedCertificate, Path.Combine(ca.Directory, CertificateFiles.RootCertificateName), overwrite: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptoFormatException)
            {
                throw new CliException($"rotate-root was interrupted ({ex.Message}); nothing was deleted: the new root pair is in '{staging}', " +
                    $"the old pair in '{Path.GetDirectoryName(retiredKey)}', the bundle at '{path}' (check it with 'certs bundle show')");
            }

            Directory.Delete(staging, recursive: true);

            io.Output.WriteLine($"rotated the root of {ca.TrustDomain}");
            io.Output.WriteLine($"  new root      {Path.Combine(ca.Directory, CertificateFiles.RootCertificateName)} ({fresh.Pin})");
            io.Output.WriteLine($"  new key       {Path.Combine(ca.Directory, CertificateFiles.RootKeyName)} (mode 0600; keep it offline)");
            io.Output.WriteLine($"  old root      {retiredCertificate} ({ca.Current.Pin}; key {retiredKey})");
            await edit.PublishAsync(io, ct).ConfigureAwait(false);
            io.Output.WriteLine("next: once every agent and peer holds this bundle ('status' shows the sequence each holds), issue the gateway's and agents' certificates");
            io.Output.WriteLine("from the new root ('certs renew --ca-dir ... --new-key'; agents follow the new root by themselves through the bundle their gateway serves),");
            io.Output.WriteLine($"then, once every peer has fetched this bundle: certs bundle sign --ca-dir {parse.GetValue(caDirectory)} --drop-root {ca.Current.Pin}");
            return CliExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>certs bundle</c>.</summary>
    public static Command Bundle(TimeProvider time)
    {
        var group = new Command(
            "bundle",
            "Inspect, re-sign and install the domain's root-signed trust bundle (roots, revoked serials, sequence, expiry) that gateways serve to peers." +
            Environment.NewLine + "Example: certs bundle show ca/trust-bundle.pb");
        group.Subcommands.Add(Show(time));
        group.Subcommands.Add(Sign(time));
        group.Subcommands.Add(Install(time));
        return group;
    }

    private static Command Install(TimeProvider time)
    {
        var file = new Argument<string>("file") { Description = "The domain's signed trust bundle, as 'certs revoke|bundle sign|rotate-root' wrote it on the CA machine." };
        var config = new Option<string>("--config") { Description = "The gateway's config file.", Required = true };
        var command = new Command(
            "install",
            "Install a trust bundle made offline on a gateway: checks that the gateway accepts it (its domain, signed by its " +
            "node.tls.root, not expired, newer than the one installed), writes it atomically to node.trustBundle and asks a " +
            "running gateway to reload." +
            Environment.NewLine + "Example: certs bundle install trust-bundle.pb --config node/gateway.json")
        {
            file, config,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var now = time.GetUtcNow();
            var path = Path.GetFullPath(parse.GetValue(file)!);
            var bundle = TrustBundleEditing.ReadVerified(path, now);
            await TrustBundleEditing.InstallAsync(io, bundle.Signed, $"'{path}'", parse.GetValue(config)!, now, ct).ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return command;
    }

    private static Command Show(TimeProvider time)
    {
        var file = new Argument<string>("file") { Description = "A trust bundle file (binary SignedTrustBundle, e.g. ca/trust-bundle.pb)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command(
            "show",
            "Print a trust bundle: domain, sequence, validity, refresh hint, roots with their pins, signatures and whether each " +
            "verifies, revoked serials. Exit 1 when it is malformed or not signed by a root it lists." +
            Environment.NewLine + "Example: certs bundle show ca/trust-bundle.pb --json")
        {
            file, json,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var now = time.GetUtcNow();
            var bundle = TrustBundleEditing.ReadVerified(parse.GetValue(file)!, now);
            var view = TrustBundleView.From(bundle, now);
            if (parse.GetValue(json))
            {
                io.Output.WriteLine(JsonSerializer.Serialize(view, TrustBundleViewJsonContext.Default.TrustBundleView));
                return Task.FromResult(CliExitCodes.Success);
            }

            io.Output.WriteLine($"trust domain   {view.TrustDomain}");
            io.Output.WriteLine($"sequence       {view.Sequence}");
            io.Output.WriteLine($"issued         {view.IssuedAt}");
            io.Output.WriteLine($"expires        {view.ExpiresAt}{(view.Expired ? " (EXPIRED: re-sign it with 'certs bundle sign')" : "")}");
            io.Output.WriteLine($"refresh hint   {view.RefreshHintSeconds} s");
            io.Output.WriteLine("roots:");
            foreach (var root in view.Roots)
            {
                io.Output.WriteLine($"  {root.Pin}  {root.Subject}  valid until {root.NotAfter}");
            }

            io.Output.WriteLine("signatures:");
            foreach (var signature in view.Signatures)
            {
                io.Output.WriteLine($"  {signature.RootPin}  {(signature.Verified ? "verifies" : "NOT verified (root not listed)")}");
            }

            io.Output.WriteLine($"revoked serials ({view.RevokedSerials.Count}):");
            foreach (var serial in view.RevokedSerials)
            {
                io.Output.WriteLine($"  {serial}");
            }

            if (view.Expired)
            {
                io.Error.WriteLine($"warning: this bundle expired at {view.ExpiresAt}; peers refuse it");
            }

            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static Command Sign(TimeProvider time)
    {
        var caDirectory = CaDirectoryOption();
        var bundle = BundleOption();
        var days = BundleDaysOption();
        var dropRoot = new Option<string?>("--drop-root") { Description = "Pin of a root to remove from the bundle after a rotation (the old root; never the CA's current root)." };
        var refresh = new Option<int?>("--refresh-seconds") { Description = "Refresh hint for peers in seconds (1-86400; default: keep the bundle's)." };
        var config = ConfigOption();
        var command = new Command(
            "sign",
            "Re-sign the domain's trust bundle with the root key: sequence + 1, a fresh expiry (extend it before it runs out), " +
            "optionally without an old root after a rotation (--drop-root) or with another refresh hint. With --config the bundle " +
            "is installed for that gateway and a running one reloads." +
            Environment.NewLine + "Example: certs bundle sign --ca-dir ca --drop-root sha256:9654ba64... --config node/gateway.json")
        {
            caDirectory, bundle, days, dropRoot, refresh, config,
        };
        CliAction.Set(command, async (parse, io, ct) =>
        {
            var lifetime = TrustBundleEditing.Lifetime(parse.GetValue(days), "--bundle-days");
            string? drop = null;
            if (parse.GetValue(dropRoot) is { } dropText)
            {
                if (!SpkiPin.TryNormalize(dropText, out var normalized, out var pinError))
                {
                    throw CliException.Usage($"--drop-root: {pinError}");
                }

                drop = normalized;
            }

            var hint = parse.GetValue(refresh);
            if (hint is < 1 or > 86_400)
            {
                throw CliException.Usage($"--refresh-seconds {hint} must be between 1 and 86400");
            }

            using var edit = await TrustBundleEdit.OpenAsync(parse.GetValue(caDirectory)!, parse.GetValue(bundle), lifetime, time, ct).ConfigureAwait(false);
            var previous = edit.Previous;
            var index = -1;
            if (drop is not null)
            {
                index = previous.RootPins.ToList().IndexOf(drop);
                if (index < 0)
                {
                    throw new CliException($"--drop-root {drop} is not listed in the bundle (it lists {string.Join(", ", previous.RootPins)})");
                }

                if (drop == edit.Ca.Current.Pin)
                {
                    throw new CliException($"--drop-root {drop} is the CA's current root, which signs the bundle; rotate first ('certs rotate-root')");
                }
            }

            edit.Next(b =>
            {
                if (index >= 0)
                {
                    b.RootCertificates.RemoveAt(index);
                }

                if (hint is { } seconds)
                {
                    b.RefreshHintSeconds = (uint)seconds;
                }
            }, parse.GetValue(config));
            if (drop is not null)
            {
                io.Output.WriteLine($"dropped root {drop}");
            }

            await edit.PublishAsync(io, ct).ConfigureAwait(false);
            return CliExitCodes.Success;
        });
        return command;
    }

    private static Option<string> CaDirectoryOption() =>
        new("--ca-dir") { Description = "Folder of the trust domain's root (root.crt, root.key) made by 'certs init-domain'.", Required = true };

    private static Option<string?> BundleOption() =>
        new("--bundle") { Description = "The trust bundle file (default: trust-bundle.pb in --ca-dir)." };

    private static Option<int> BundleDaysOption() =>
        new("--bundle-days") { Description = "Days until the new bundle expires (peers refuse an expired one).", DefaultValueFactory = _ => TrustBundleEditing.DefaultBundleDays };

    private static Option<string?> ConfigOption() =>
        new("--config") { Description = "A gateway of the domain: install the new bundle at its node.trustBundle (checked first) and ask a running node to reload." };
}

/// <summary>A trust bundle as <c>certs bundle show</c> prints it.</summary>
internal sealed record TrustBundleView(
    string TrustDomain,
    ulong Sequence,
    string IssuedAt,
    string ExpiresAt,
    bool Expired,
    uint RefreshHintSeconds,
    IReadOnlyList<TrustBundleRootView> Roots,
    IReadOnlyList<TrustBundleSignatureView> Signatures,
    IReadOnlyList<string> RevokedSerials,
    int KeyAnnouncements)
{
    /// <summary>Builds the view of a verified bundle.</summary>
    public static TrustBundleView From(VerifiedTrustBundle bundle, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var roots = bundle.Roots.Select((r, i) => new TrustBundleRootView(bundle.RootPins[i], r.Subject, CertificateFiles.Format(r.NotAfter))).ToList();
        var signatures = bundle.Signed.Signatures
            .Select(s => SpkiPin.Prefix + Convert.ToHexStringLower(s.RootSpkiSha256.Span))
            .Select(pin => new TrustBundleSignatureView(pin, bundle.SignerPins.Contains(pin, StringComparer.Ordinal)))
            .ToList();
        return new TrustBundleView(
            bundle.TrustDomain,
            bundle.Sequence,
            CertificateFiles.Format(bundle.IssuedAt.UtcDateTime),
            CertificateFiles.Format(bundle.ExpiresAt.UtcDateTime),
            bundle.ExpiresAt <= now,
            bundle.Bundle.RefreshHintSeconds == 0 ? TrustBundleVerifier.DefaultRefreshSeconds : bundle.Bundle.RefreshHintSeconds,
            roots,
            signatures,
            bundle.RevokedSerials,
            bundle.Signed.KeyAnnouncements.Count);
    }
}

/// <summary>One root of a bundle.</summary>
internal sealed record TrustBundleRootView(string Pin, string Subject, string NotAfter);

/// <summary>One signature of a bundle.</summary>
internal sealed record TrustBundleSignatureView(string RootPin, bool Verified);

/// <summary>Source-generated JSON for <see cref="TrustBundleView"/>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(TrustBundleView))]
internal sealed partial class TrustBundleViewJsonContext : JsonSerializerContext;
