using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Trust;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary><c>certs</c>: trust domains, workload certificates, pins, renewal, revocation and the dev federation.</summary>
internal static class CertsCommand
{
    private const int MaxRootDays = 20 * 365;
    private const int MaxLeafDays = 397;

    /// <summary>Default lifetime of issued and renewed workload certificates, the library's default.</summary>
    private static readonly int DefaultLeafDays = (int)CertificateAuthority.DefaultLeafLifetime.TotalDays;

    /// <summary>Builds the <c>certs</c> command group.</summary>
    public static Command Create(TimeProvider time)
    {
        var certs = new Command(
            "certs",
            "Create trust domains, issue, renew, fingerprint and revoke certificates, sign the domain's trust bundle, rotate the root, " +
            "or make a development federation." +
            Environment.NewLine + "Example: certs init-domain --domain ee.cybercoop --out ca");
        certs.Subcommands.Add(InitDomain(time));
        certs.Subcommands.Add(Issue(time));
        certs.Subcommands.Add(Renew(time));
        certs.Subcommands.Add(Fingerprint());
        certs.Subcommands.Add(TrustBundleCommands.Revoke(time));
        certs.Subcommands.Add(TrustBundleCommands.Bundle(time));
        certs.Subcommands.Add(TrustBundleCommands.RotateRoot(time));
        certs.Subcommands.Add(Dev(time));
        return certs;
    }

    private static Command InitDomain(TimeProvider time)
    {
        var domain = new Option<string>("--domain") { Description = "Trust domain of the nation, e.g. ee.cybercoop (a-z, 0-9, '-', '.', '_').", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for root.crt, root.key and trust-bundle.pb (created when missing).", Required = true };
        var days = new Option<int>("--days") { Description = "Lifetime of the root in days.", DefaultValueFactory = _ => 3650 };
        var bundleDays = new Option<int>("--bundle-days") { Description = "Days until the first trust bundle expires (re-sign it with 'certs bundle sign').", DefaultValueFactory = _ => TrustBundleEditing.DefaultBundleDays };
        var command = new Command(
            "init-domain",
            "Create a new trust domain: a root CA certificate (root.crt), its private key (root.key, mode 0600) and the domain's " +
            "first trust bundle signed by that root (trust-bundle.pb: sequence 1, no revocations), and print the root's SPKI pin " +
            "that peers confirm. Never overwrites existing files." +
            Environment.NewLine + "Example: certs init-domain --domain ee.cybercoop --out ca")
        {
            domain, output, days, bundleDays,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var trustDomain = parse.GetValue(domain)!;
            if (!TrustDomains.IsValid(trustDomain, out var domainError))
            {
                throw CliException.Usage($"--domain: {domainError}");
            }

            var lifetime = CertificateFiles.Days(parse.GetValue(days), MaxRootDays, "--days");
            var bundleLifetime = TrustBundleEditing.Lifetime(parse.GetValue(bundleDays), "--bundle-days");
            var directory = Path.GetFullPath(parse.GetValue(output)!);
            var certificatePath = Path.Combine(directory, CertificateFiles.RootCertificateName);
            var keyPath = Path.Combine(directory, CertificateFiles.RootKeyName);
            var bundlePath = DomainCaFolder.BundlePath(directory);
            CertificateFiles.RefuseExisting(certificatePath, keyPath, bundlePath);
            CertificateFiles.EnsureDirectory(directory);

            using var authority = CertificateAuthority.CreateRoot(trustDomain, time, lifetime);
            var bundle = TrustBundleSigner.Sign(
                TrustBundleSigner.Create(trustDomain, 1, [authority.Certificate], [], time.GetUtcNow(), bundleLifetime),
                [authority]);
            authority.Save(certificatePath, keyPath);
            TrustBundleFile.Write(bundlePath, bundle);

            io.Output.WriteLine($"created trust domain {trustDomain}");
            io.Output.WriteLine($"  root certificate  {certificatePath}");
            io.Output.WriteLine($"  root key          {keyPath} (mode 0600; keep it offline)");
            io.Output.WriteLine($"  valid until       {CertificateFiles.Format(authority.Certificate.NotAfter)}");
            io.Output.WriteLine($"  trust bundle      {bundlePath} (sequence 1, valid until {CertificateFiles.Format(time.GetUtcNow().UtcDateTime + bundleLifetime)}; each gateway serves it)");
            io.Output.WriteLine("root pin (give it to your peers out of band; they confirm it with 'peers add --pin'):");
            io.Output.WriteLine(SpkiPin.Compute(authority.Certificate));
            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static Command Issue(TimeProvider time)
    {
        var caDirectory = new Option<string>("--ca-dir") { Description = "Folder holding root.crt and root.key of the trust domain.", Required = true };
        var kind = new Option<string>("--kind") { Description = "Workload kind: gateway, agent, operator or analyst (a local analyst tool reading the TAXII server).", Required = true };
        kind.AcceptOnlyFromAmong("gateway", "agent", "operator", "analyst");
        var name = new Option<string>("--name") { Description = "Workload name, 1-64 characters of a-z, 0-9, '-', '_', '.' (not '.' or '..'); the id is spiffe://<domain>/<kind>/<name>. " +
            "Stricter than the SPIFFE id grammar peers accept (docs/crypto.md §2), so a name is also a safe file name.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for <name>.crt and <name>.key (created when missing).", Required = true };
        var days = new Option<int>("--days") { Description = "Lifetime in days (short-lived certificates are renewed with 'certs renew').", DefaultValueFactory = _ => DefaultLeafDays };
        var command = new Command(
            "issue",
            "Issue a gateway, agent, operator or analyst certificate of a trust domain, with its SPIFFE id as the only URI SAN; " +
            "writes <name>.crt and <name>.key (mode 0600)." +
            Environment.NewLine + "Example: certs issue --ca-dir ca --kind gateway --name tallinn --out node")
        {
            caDirectory, kind, name, output, days,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var workloadName = parse.GetValue(name)!;
            if (!GatewayConfigValidator.IsValidName(workloadName))
            {
                throw CliException.Usage($"--name: '{workloadName}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'");
            }

            var workloadKind = ParseKind(parse.GetValue(kind)!);
            var lifetime = CertificateFiles.Days(parse.GetValue(days), MaxLeafDays, "--days");
            var directory = Path.GetFullPath(parse.GetValue(output)!);
            var certificatePath = Path.Combine(directory, workloadName + ".crt");
            var keyPath = Path.Combine(directory, workloadName + ".key");
            CertificateFiles.RefuseExisting(certificatePath, keyPath);

            using var authority = CertificateFiles.LoadAuthority(parse.GetValue(caDirectory)!);
            var id = new SpiffeId(authority.TrustDomain, workloadKind, workloadName);
            CertificateFiles.EnsureDirectory(directory);
            using var certificate = authority.Issue(id, lifetime, time: time);
            CertificateFiles.WriteCertificateAndKey(certificate, certificatePath, keyPath);

            io.Output.WriteLine($"issued {id}");
            io.Output.WriteLine($"  certificate  {certificatePath}");
            io.Output.WriteLine($"  key          {keyPath} (mode 0600)");
            io.Output.WriteLine($"  serial       {certificate.SerialNumber}");
            io.Output.WriteLine($"  valid until  {CertificateFiles.Format(certificate.NotAfter)}");
            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static Command Renew(TimeProvider time)
    {
        var caDirectory = new Option<string>("--ca-dir") { Description = "Folder holding root.crt and root.key of the trust domain that issued the certificate.", Required = true };
        var certificateOption = new Option<string>("--cert") { Description = "Certificate to renew (PEM); replaced in place, the old one kept as <file>.bak.", Required = true };
        var keyOption = new Option<string?>("--key") { Description = "Its private key (default: the certificate path with .key)." };
        var newKey = new Option<bool>("--new-key") { Description = "Generate a new key pair too (the old key is kept as <key>.bak)." };
        var days = new Option<int>("--days") { Description = "Lifetime of the new certificate in days.", DefaultValueFactory = _ => DefaultLeafDays };
        var reloadConfig = new Option<string?>("--config") { Description = "Config of the gateway using this certificate: a running node is asked to reload and swaps to the new certificate without a restart." };
        var command = new Command(
            "renew",
            "Issue a fresh certificate for the same SPIFFE id (optionally with a new key) and replace the files in place; " +
            "with --config a running gateway reloads and uses it for new connections (agents load it when restarted)." +
            Environment.NewLine + "Example: certs renew --ca-dir ca --cert node/tallinn.crt --new-key --config node/gateway.json")
        {
            caDirectory, certificateOption, keyOption, newKey, days, reloadConfig,
        };
        CliAction.Set(command, async (parse, io, cancellationToken) =>
        {
            var certificatePath = Path.GetFullPath(parse.GetValue(certificateOption)!);
            var keyPath = Path.GetFullPath(parse.GetValue(keyOption) ?? Path.ChangeExtension(certificatePath, ".key"));
            var lifetime = CertificateFiles.Days(parse.GetValue(days), MaxLeafDays, "--days");
            // After 'certs rotate-root' the certificate was issued by a retired root: it is identified against every root of
            // the folder and always renewed from the current one, so rotation moves each workload to the new root.
            using var ca = DomainCaFolder.Load(parse.GetValue(caDirectory)!);
            var authority = ca.Current;
            using var old = CertificateFiles.LoadCertificate(certificatePath, "certificate");
            var (id, issuer) = CertificateFiles.IdentifyIssued(ca, old, certificatePath);

            var renewKey = parse.GetValue(newKey);
            X509Certificate2 renewed;
            if (renewKey)
            {
                renewed = authority.Issue(id, lifetime, time: time);
            }
            else
            {
                if (!File.Exists(keyPath))
                {
                    throw new CliException($"key '{keyPath}' does not exist (pass --key, or --new-key to make a new one)");
                }

                using var existing = LoadKeyMatching(old, keyPath);
                renewed = authority.Issue(id, lifetime, existing, time);
            }

            using (renewed)
            {
                Backup(certificatePath);
                if (renewKey)
                {
                    Backup(keyPath);
                }

                using var key = renewed.GetECDsaPrivateKey()
                    ?? throw new CryptographicException("the renewed certificate has no ECDSA private key");
                if (renewKey)
                {
                    PemFiles.WritePrivateKey(keyPath, key);
                }

                PemFiles.WriteCertificate(certificatePath, renewed);
                io.Output.WriteLine($"renewed {id}");
                io.Output.WriteLine($"  certificate  {certificatePath} (previous: {certificatePath}.bak)");
                io.Output.WriteLine(renewKey ? $"  key          {keyPath} (new; previous: {keyPath}.bak)" : $"  key          {keyPath} (unchanged)");
                io.Output.WriteLine($"  serial       {renewed.SerialNumber} (old serial {old.SerialNumber}; revoke it with 'certs revoke' if the key was exposed)");
                io.Output.WriteLine($"  valid until  {CertificateFiles.Format(renewed.NotAfter)}");
                io.Output.WriteLine(issuer == authority.Pin
                    ? $"  issued by    {authority.Pin} (the current root)"
                    : $"  issued by    {authority.Pin} (the current root; the old certificate was issued by the retired root {issuer})");
            }

            if (parse.GetValue(reloadConfig) is { } configPath)
            {
                await ConfigEdit.ReloadAsync(io, configPath, cancellationToken).ConfigureAwait(false);
            }

            return CliExitCodes.Success;
        });
        return command;
    }

    private static Command Fingerprint()
    {
        var file = new Argument<string>("file") { Description = "PEM certificate (a root, or any certificate)." };
        var command = new Command(
            "fingerprint",
            "Print the SHA-256 pin of a certificate's public key (SPKI), the value peers compare before trusting a root." +
            Environment.NewLine + "Example: certs fingerprint ca/root.crt")
        {
            file,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var path = parse.GetValue(file)!;
            using var certificate = CertificateFiles.LoadCertificate(path, "certificate");
            io.Output.WriteLine(SpkiPin.Compute(certificate));
            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static Command Dev(TimeProvider time)
    {
        var output = new Option<string>("--out") { Description = "Folder to create the federation in (may hold only README.md and .gitignore).", Required = true };
        var basePort = new Option<int>("--base-port") { Description = "Loopback port of the first gateway; the others follow (0: pick free ports).", DefaultValueFactory = _ => DevFederationOptions.DefaultBasePort };
        var force = new Option<bool>("--force") { Description = "Delete a previous development federation in that folder first." };
        var command = new Command(
            "dev",
            "Create a complete development federation: three trust domains (ee.cybercoop tallinn, fi.cybercoop helsinki, " +
            "lv.cybercoop riga), each with a root, a gateway and two agents, fully meshed gateway.json files with pinned " +
            "roots and differing policies, each domain's root-signed trust-bundle.pb, and agent.json files. For development only: " +
            "the roots' keys sit beside them." +
            Environment.NewLine + "Example: certs dev --out certs-dev")
        {
            output, basePort, force,
        };
        CliAction.Set(command, (parse, io, _) =>
        {
            var port = parse.GetValue(basePort);
            if (port is < 0 or > 65_000)
            {
                throw CliException.Usage($"--base-port {port} must be between 0 and 65000");
            }

            var result = DevFederation.Create(parse.GetValue(output)!, new DevFederationOptions { BasePort = port, Overwrite = parse.GetValue(force), Time = time });
            io.Output.WriteLine($"development federation in {result.Directory}");
            io.WriteTable(
                ["gateway", "listen", "config", "root pin"],
                result.Nodes.Select(n => (IReadOnlyList<string>)[n.Id, $"127.0.0.1:{n.Port}", Path.GetRelativePath(result.Directory, n.ConfigPath), n.RootPin]));
            io.Output.WriteLine();
            io.WriteTable(
                ["agent", "config"],
                result.Nodes.SelectMany(n => n.Agents).Select(a => (IReadOnlyList<string>)[a.Id, Path.GetRelativePath(result.Directory, a.ConfigPath)]));
            io.Output.WriteLine();
            io.Output.WriteLine($"each nation's root signed its trust bundle (<domain>/{TrustBundleFile.DefaultName}: sequence 1, valid {TrustBundleEditing.DefaultBundleDays} days; " +
                "'certs bundle show' prints it, 'certs revoke|bundle sign|rotate-root --ca-dir <domain>' change it)");
            io.Output.WriteLine($"start a node: serve --config {Path.GetRelativePath(Environment.CurrentDirectory, result.Nodes[0].ConfigPath)}");
            return Task.FromResult(CliExitCodes.Success);
        });
        return command;
    }

    private static WorkloadKind ParseKind(string kind) => kind switch
    {
        "gateway" => WorkloadKind.Gateway,
        "agent" => WorkloadKind.Agent,
        "operator" => WorkloadKind.Operator,
        "analyst" => WorkloadKind.Analyst,
        _ => throw CliException.Usage($"--kind '{kind}' must be gateway, agent, operator or analyst"),
    };

    private static ECDsa LoadKeyMatching(X509Certificate2 certificate, string keyPath)
    {
        ECDsa key;
        try
        {
            key = PemFiles.LoadPrivateKey(keyPath);
        }
        catch (FormatException ex)
        {
            throw new CliException($"'{keyPath}' is not a PEM ECDSA private key: {ex.Message}");
        }

        using var publicKey = certificate.GetECDsaPublicKey();
        if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            key.Dispose();
            throw new CliException($"'{keyPath}' is not the key of the certificate being renewed");
        }

        return key;
    }

    private static void Backup(string path)
    {
        if (File.Exists(path))
        {
            File.Copy(path, path + ".bak", overwrite: true);
            File.Delete(path);
        }
    }

    /// <summary>Uppercase hex without separators; rejects anything else with a usage error.</summary>
    internal static string NormalizeSerial(string serial)
    {
        var text = serial.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            text = text[2..];
        }

        text = text.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant();
        if (text.Length is 0 or > 64 || !text.All(Uri.IsHexDigit))
        {
            throw CliException.Usage($"--serial '{serial}' is not a hexadecimal serial number");
        }

        return text;
    }
}
