using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Trust;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>
/// The operator side of root-signed trust bundles: read and check the CA folder's bundle, issue the next one
/// (sequence + 1, signed by every listed root whose key is at hand, the current root always), and publish it to the
/// CA folder and, with <c>--config</c>, to a gateway (checked first, so nothing is written when it would be refused).
/// </summary>
internal static class TrustBundleEditing
{
    /// <summary>Default lifetime of a bundle in days.</summary>
    public const int DefaultBundleDays = 30;

    /// <summary>Longest lifetime of a bundle in days.</summary>
    public const int MaxBundleDays = 366;

    /// <summary>
    /// Holds <c>&lt;bundle&gt;.lock</c> exclusively so two operators (or scripts) changing the same bundle at once cannot
    /// lose each other's change (two revocations both signing sequence N + 1).
    /// </summary>
    public static async Task<IDisposable> LockAsync(string bundlePath, CancellationToken ct) =>
        await EditLock.AcquireAsync(bundlePath, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50),
            full => new CliException($"folder of trust bundle '{full}' does not exist"),
            (full, lockPath, ex) => new CliException($"trust bundle '{full}' is being changed by another command (lock '{lockPath}'): {ex.Message}"),
            ct).ConfigureAwait(false);

    /// <summary>Reads a bundle file and checks that it is well formed and signed by a root it lists.</summary>
    public static VerifiedTrustBundle ReadVerified(string path, DateTimeOffset now)
    {
        var full = Path.GetFullPath(path);
        SignedTrustBundle signed;
        try
        {
            signed = TrustBundleFile.Read(full);
        }
        catch (FileNotFoundException)
        {
            throw new CliException($"trust bundle '{full}' does not exist (certs init-domain writes it beside the root)");
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException(ex.Message);
        }

        return Verified(signed, $"'{full}'", now);
    }

    /// <summary>Checks that <paramref name="signed"/> is well formed and signed by a root it lists.</summary>
    public static VerifiedTrustBundle Verified(SignedTrustBundle signed, string source, DateTimeOffset now) =>
        TrustBundleVerifier.VerifySelfSigned(signed, now, out var error)
            ?? throw new CliException($"trust bundle {source} does not verify: {error}");

    /// <summary>
    /// <c>certs bundle install</c>: installs a bundle made offline on a gateway after checking that the gateway accepts it
    /// (its domain, signed by its node.tls.root, not expired, not older than the one installed), writes it atomically to
    /// node.trustBundle and asks a running gateway to reload (which verifies it again as it does at start and refuses a
    /// sequence older than the one in use). The web console's bundle upload runs this too.
    /// </summary>
    public static async Task<VerifiedTrustBundle> InstallAsync(CliIo io, SignedTrustBundle signed, string source, string configPath, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(io);
        var bundle = Verified(signed, source, now);
        var install = CheckInstall(configPath, bundle, now);
        if (File.Exists(install))
        {
            try
            {
                var current = TrustBundleFile.Read(install);
                var installed = TrustBundleVerifier.VerifySelfSigned(current, now, out _);
                if (installed is not null && installed.Sequence >= bundle.Sequence && !installed.SameSignedPart(bundle))
                {
                    throw new CliException($"the gateway already has sequence {installed.Sequence}; refusing to install the older sequence {bundle.Sequence}");
                }
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException)
            {
                // An unreadable installed bundle is replaced.
            }
        }

        TrustBundleFile.Write(install, bundle.Signed);
        Describe(io, bundle, install);
        await ConfigEdit.ReloadAsync(io, configPath, ct).ConfigureAwait(false);
        return bundle;
    }

    /// <summary>Reads the bundle of <paramref name="ca"/>: same domain, and listing the CA's current root.</summary>
    public static VerifiedTrustBundle ReadForCa(DomainCaFolder ca, string path, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ca);
        var bundle = ReadVerified(path, now);
        if (bundle.TrustDomain != ca.TrustDomain)
        {
            throw new CliException($"trust bundle '{Path.GetFullPath(path)}' is of {bundle.TrustDomain}, but the CA in '{ca.Directory}' is of {ca.TrustDomain}");
        }

        if (!bundle.RootPins.Contains(ca.Current.Pin, StringComparer.Ordinal))
        {
            throw new CliException($"the root in '{ca.Directory}' ({ca.Current.Pin}) is not listed in trust bundle '{Path.GetFullPath(path)}' " +
                $"(it lists {string.Join(", ", bundle.RootPins)}): wrong root key for this bundle");
        }

        return bundle;
    }

    /// <summary>
    /// The next bundle after <paramref name="previous"/>: <paramref name="change"/> applied to a copy, sequence + 1,
    /// issued now and valid for <paramref name="lifetime"/>, signed by every listed root of <paramref name="ca"/> plus
    /// <paramref name="extraSigners"/>. Checked to be acceptable to a receiver that holds <paramref name="previous"/>.
    /// </summary>
    public static VerifiedTrustBundle Next(DomainCaFolder ca, VerifiedTrustBundle previous, Action<TrustBundle> change, TimeSpan lifetime, DateTimeOffset now,
        IReadOnlyList<CertificateAuthority>? extraSigners = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(change);
        var bundle = previous.Bundle.Clone();
        change(bundle);
        bundle.Sequence = previous.Sequence + 1;
        bundle.IssuedAt = Timestamp.FromDateTimeOffset(now);
        bundle.ExpiresAt = Timestamp.FromDateTimeOffset(now + lifetime);
        if (bundle.RefreshHintSeconds == 0)
        {
            bundle.RefreshHintSeconds = TrustBundleVerifier.DefaultRefreshSeconds;
        }

        var listed = bundle.RootCertificates.Select(PinOf).ToList();
        if (!listed.Contains(ca.Current.Pin, StringComparer.Ordinal))
        {
            throw new CliException($"the bundle would no longer list the CA's current root {ca.Current.Pin}, which must sign it");
        }

        var signers = ca.SignersFor(listed).Concat(extraSigners ?? []).DistinctBy(a => a.Pin).ToList();
        var signed = TrustBundleSigner.Sign(bundle, signers);
        return TrustBundleVerifier.Verify(signed, previous.TrustDomain, previous.Roots, now, out var error)
            ?? throw new CliException($"the new bundle would not be accepted by peers holding sequence {previous.Sequence}: {error}");
    }

    private static string PinOf(Google.Protobuf.ByteString der)
    {
        using var root = X509CertificateLoader.LoadCertificate(der.Span);
        return SpkiPin.Compute(root);
    }

    /// <summary>
    /// Checks that the gateway of <paramref name="configPath"/> would accept <paramref name="bundle"/> as its own
    /// (same domain, signed by its node.tls.root) and returns where it installs it. Writes nothing.
    /// </summary>
    public static string CheckInstall(string configPath, VerifiedTrustBundle bundle, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var full = Path.GetFullPath(configPath);
        GatewayConfig config;
        try
        {
            config = GatewayConfigFile.Parse(full);
        }
        catch (GatewayConfigException ex)
        {
            throw new CliException(ex.Message);
        }

        if (config.Node?.TrustDomain != bundle.TrustDomain)
        {
            throw new CliException($"'{full}' is a gateway of {config.Node?.TrustDomain}, not of {bundle.TrustDomain}; refusing to install another domain's bundle");
        }

        var directory = Path.GetDirectoryName(full)!;
        var root = CertificateFiles.LoadCertificate(Path.GetFullPath(config.Node.Tls?.Root ?? "", directory), "node.tls.root of the gateway");
        using (root)
        {
            if (TrustBundleVerifier.Verify(bundle.Signed, bundle.TrustDomain, [root], now, out var error) is null)
            {
                throw new CliException($"the gateway '{full}' would refuse this bundle: {error}. Copy the new root.crt to its node.tls.root first " +
                    "(after a rotation, once the old root is dropped), then retry with --config");
            }
        }

        return Path.GetFullPath(string.IsNullOrWhiteSpace(config.Node.TrustBundle) ? TrustBundleFile.DefaultName : config.Node.TrustBundle, directory);
    }

    /// <summary>Writes the bundle to the CA folder and, when given, installs it for the gateway and asks a running one to reload.</summary>
    public static async Task PublishAsync(CliIo io, string bundlePath, VerifiedTrustBundle bundle, string? configPath, string? installPath, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(bundle);
        var full = Path.GetFullPath(bundlePath);
        TrustBundleFile.Write(full, bundle.Signed);
        Describe(io, bundle, full);
        if (configPath is not null && installPath is not null)
        {
            if (!string.Equals(installPath, full, StringComparison.Ordinal))
            {
                TrustBundleFile.Write(installPath, bundle.Signed);
                io.Output.WriteLine($"installed for the gateway at {installPath}");
            }

            await ConfigEdit.ReloadAsync(io, configPath, ct).ConfigureAwait(false);
        }
        else
        {
            io.Output.WriteLine("install it on each gateway of the domain: certs bundle install <file> --config <gateway.json>");
        }
    }

    /// <summary>One-paragraph summary of a bundle just written.</summary>
    public static void Describe(CliIo io, VerifiedTrustBundle bundle, string path)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(bundle);
        io.Output.WriteLine($"signed trust bundle of {bundle.TrustDomain}: sequence {bundle.Sequence}, valid until {CertificateFiles.Format(bundle.ExpiresAt.UtcDateTime)}");
        io.Output.WriteLine($"  file          {path}");
        io.Output.WriteLine($"  roots         {string.Join(", ", bundle.RootPins)}");
        io.Output.WriteLine($"  signed by     {string.Join(", ", bundle.SignerPins)}");
        io.Output.WriteLine($"  revoked       {bundle.RevokedSerials.Count} serial(s)");
    }

    /// <summary>Parses a bundle lifetime in days.</summary>
    public static TimeSpan Lifetime(int days, string option) => CertificateFiles.Days(days, MaxBundleDays, option);
}

/// <summary>
/// One change of the CA folder's trust bundle, as <c>certs revoke</c>, <c>certs rotate-root</c> and <c>certs bundle sign</c>
/// make it: the CA loaded, the bundle locked and its current version read (all at one <see cref="Now"/>); then
/// <see cref="Next"/> signs the next bundle and checks the optional gateway install, and <see cref="PublishAsync"/>
/// writes and installs it. Disposing releases the lock, then the CA.
/// </summary>
internal sealed class TrustBundleEdit : IDisposable
{
    private readonly IDisposable _lock;
    private readonly TimeSpan _lifetime;
    private VerifiedTrustBundle? _next;
    private string? _configPath;
    private string? _install;

    private TrustBundleEdit(DomainCaFolder ca, string path, IDisposable held, VerifiedTrustBundle previous, TimeSpan lifetime, DateTimeOffset now)
    {
        Ca = ca;
        Path = path;
        _lock = held;
        Previous = previous;
        _lifetime = lifetime;
        Now = now;
    }

    /// <summary>The domain's CA folder.</summary>
    public DomainCaFolder Ca { get; }

    /// <summary>The bundle file (<c>--bundle</c>, or the one in the CA folder).</summary>
    public string Path { get; }

    /// <summary>The bundle as it was when the lock was taken, checked against the CA.</summary>
    public VerifiedTrustBundle Previous { get; }

    /// <summary>The time the whole change is made at.</summary>
    public DateTimeOffset Now { get; }

    /// <summary>
    /// Takes the time, loads the CA in <paramref name="caDirectory"/>, locks the bundle (<paramref name="bundlePath"/>
    /// or the CA folder's) and reads it. Whatever was taken is released if a step fails.
    /// </summary>
    public static async Task<TrustBundleEdit> OpenAsync(string caDirectory, string? bundlePath, TimeSpan lifetime, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        var ca = DomainCaFolder.Load(caDirectory);
        IDisposable? held = null;
        try
        {
            var path = bundlePath ?? DomainCaFolder.BundlePath(ca.Directory);
            held = await TrustBundleEditing.LockAsync(path, ct).ConfigureAwait(false);
            var previous = TrustBundleEditing.ReadForCa(ca, path, now);
            return new TrustBundleEdit(ca, path, held, previous, lifetime, now);
        }
        catch
        {
            held?.Dispose();
            ca.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Signs the next bundle (<see cref="TrustBundleEditing.Next"/>) and, with <paramref name="configPath"/>, checks
    /// that gateway would accept it (<see cref="TrustBundleEditing.CheckInstall"/>); writes nothing. Kept for <see cref="PublishAsync"/>.
    /// </summary>
    public VerifiedTrustBundle Next(Action<TrustBundle> change, string? configPath, IReadOnlyList<CertificateAuthority>? extraSigners = null)
    {
        var next = TrustBundleEditing.Next(Ca, Previous, change, _lifetime, Now, extraSigners);
        _install = configPath is null ? null : TrustBundleEditing.CheckInstall(configPath, next, Now);
        _configPath = configPath;
        _next = next;
        return next;
    }

    /// <summary>Publishes the bundle of <see cref="Next"/> (<see cref="TrustBundleEditing.PublishAsync"/>).</summary>
    public Task PublishAsync(CliIo io, CancellationToken ct) =>
        TrustBundleEditing.PublishAsync(io, Path, _next ?? throw new InvalidOperationException("Next must be called before PublishAsync"), _configPath, _install, ct);

    /// <inheritdoc/>
    public void Dispose()
    {
        _lock.Dispose();
        Ca.Dispose();
    }
}
