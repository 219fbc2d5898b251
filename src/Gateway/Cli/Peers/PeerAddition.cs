using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Cli.Peers;

/// <summary>What <c>peers add</c> (and the web console's peer form) asks for: the options of the command, unparsed.</summary>
internal sealed record PeerAddRequest
{
    /// <summary>SPIFFE id of the peer gateway.</summary>
    public required string Id { get; init; }

    /// <summary>Where to dial it, <c>https://host:port</c>.</summary>
    public required string Address { get; init; }

    /// <summary>PEM file of the peer's root (received out of band), or null with <see cref="Fetch"/>.</summary>
    public string? RootPath { get; init; }

    /// <summary>Read the root from the running peer's signed trust bundle.</summary>
    public bool Fetch { get; init; }

    /// <summary>The root's SPKI pin as the peer's operator read it out of band; the root must match it.</summary>
    public string? Pin { get; init; }

    /// <summary>Highest TLP shared with the peer.</summary>
    public string TlpCeiling { get; init; } = "AMBER";

    /// <summary>Share nothing below this confidence.</summary>
    public int MinConfidence { get; init; }

    /// <summary>Let the peer relay CLEAR/GREEN content.</summary>
    public bool AllowRelay { get; init; }

    /// <summary>Pinned suite (hybrid or classic), or null to negotiate.</summary>
    public string? Suite { get; init; }
}

/// <summary>The root a running peer offers, shown to an operator before they type the pin they were given.</summary>
/// <param name="Peer">The gateway the peer's certificate names (equal to the requested id).</param>
/// <param name="Pin">The root's SPKI pin.</param>
/// <param name="Subject">The root's subject.</param>
/// <param name="NotBefore">The root's validity start.</param>
/// <param name="NotAfter">The root's validity end.</param>
internal sealed record PeerRootPreview(string Peer, string Pin, string Subject, DateTimeOffset NotBefore, DateTimeOffset NotAfter);

/// <summary>
/// The one code path that adds a peer to gateway.json, for <c>peers add</c> and the web console: validates the request,
/// obtains the peer's root (a file, or the running peer's signed trust bundle with the peer's certificate checked against
/// it), pins it only when it matches the pin the operator was given out of band (or confirmed at a terminal), copies it
/// next to the config and applies the edit with <see cref="ConfigEdit.ApplyAsync"/> (a running node reloads).
/// </summary>
internal static class PeerAddition
{
    /// <summary>Adds the peer; <see cref="CliException"/> naming the problem when anything does not match (nothing changed then).</summary>
    public static async Task<PeerConfig> AddAsync(CliIo io, string configPath, PeerAddRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(request);
        var (peerId, address, expectedPin, ceiling) = Validate(request);
        if (request.RootPath is null && !request.Fetch)
        {
            throw CliException.Usage("give the peer's root with --root <file>, or --fetch to read it from the running peer's trust bundle");
        }

        var current = Load(configPath, peerId);
        using var root = await ObtainRootAsync(io, current, peerId, address, request.RootPath, request.Fetch, expectedPin, cancellationToken).ConfigureAwait(false);
        var actualPin = SpkiPin.Compute(root);
        RootPinning.Confirm(io, peerId.TrustDomain, $"peer      {peerId}", root, actualPin, expectedPin);

        var (relativeRoot, rootCopy, created) = RootPinning.CopyRoot(current, peerId.TrustDomain, root, actualPin);
        var peer = new PeerConfig
        {
            Id = peerId.ToString(),
            TrustDomain = peerId.TrustDomain,
            Address = address.GetLeftPart(UriPartial.Authority),
            Root = relativeRoot,
            RootPin = actualPin,
            Suite = request.Suite,
            Outbound = new OutboundPolicyConfig
            {
                TlpCeiling = TlpNames.ToName(ceiling),
                MinConfidence = request.MinConfidence,
                AllowRelay = request.AllowRelay,
            },
        };

        try
        {
            await ConfigEdit.ApplyAsync(io, current.Path, c => c with { Peers = [.. c.Peers, peer] }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (created)
            {
                File.Delete(rootCopy);
            }

            throw;
        }

        return peer;
    }

    /// <summary>
    /// Reads the root the running peer offers (as <c>--fetch</c> does, without a pin) for an operator to compare with the
    /// fingerprint they were given; pins nothing.
    /// </summary>
    public static async Task<PeerRootPreview> PreviewAsync(string configPath, PeerAddRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (peerId, address, _, _) = Validate(request);
        var current = Load(configPath, peerId);
        using var own = LoadOwnCertificate(current);
        using var offer = await PeerRootFetcher.FetchAsync(address, own, cancellationToken).ConfigureAwait(false);
        using var root = PeerRootSelection.Select(offer, peerId, address.GetLeftPart(UriPartial.Authority), null, null);
        _ = RootPinning.Anchor(peerId.TrustDomain, root);
        return new PeerRootPreview(peerId.ToString(), SpkiPin.Compute(root), root.Subject,
            new DateTimeOffset(root.NotBefore.ToUniversalTime()), new DateTimeOffset(root.NotAfter.ToUniversalTime()));
    }

    private static (SpiffeId Id, Uri Address, string? Pin, Contracts.V1.Tlp Ceiling) Validate(PeerAddRequest request)
    {
        if (!SpiffeId.TryParse(request.Id, out var peerId, out var idError))
        {
            throw CliException.Usage($"--id: {idError}");
        }

        if (peerId.Kind != WorkloadKind.Gateway)
        {
            throw CliException.Usage($"--id: '{request.Id}' is not a gateway (expected spiffe://<domain>/gateway/<name>)");
        }

        if (!Uri.TryCreate(request.Address, UriKind.Absolute, out var address) || address.Scheme != Uri.UriSchemeHttps || address.AbsolutePath != "/")
        {
            throw CliException.Usage($"--address: '{request.Address}' must be https://host:port");
        }

        string? expectedPin = null;
        if (request.Pin is not null)
        {
            if (!SpkiPin.TryNormalize(request.Pin, out var normalized, out var pinError))
            {
                throw CliException.Usage($"--pin: {pinError}");
            }

            expectedPin = normalized;
        }

        if (!TlpNames.TryParse(request.TlpCeiling, out var ceiling) || ceiling == Contracts.V1.Tlp.Red)
        {
            throw CliException.Usage($"--tlp-ceiling: '{request.TlpCeiling}' must be CLEAR, GREEN, AMBER or AMBER+STRICT (RED is configured by editing the file, deliberately)");
        }

        return (peerId, address, expectedPin, ceiling);
    }

    private static LoadedConfig Load(string configPath, SpiffeId peerId)
    {
        var current = ConfigEdit.Load(configPath);
        if (current.Config.Peers.Any(p => string.Equals(p.Id, peerId.ToString(), StringComparison.Ordinal)))
        {
            throw new CliException($"peer {peerId} is already configured in {current.Path}; remove it first to replace it");
        }

        return current;
    }

    private static async Task<X509Certificate2> ObtainRootAsync(CliIo io, LoadedConfig config, SpiffeId peerId, Uri address, string? rootPath, bool fetch, string? expectedPin, CancellationToken cancellationToken)
    {
        var given = rootPath is null ? null : CertificateFiles.LoadCertificate(rootPath, "root certificate");
        if (!fetch)
        {
            return given!;
        }

        using (given)
        {
            var authority = address.GetLeftPart(UriPartial.Authority);
            using var own = LoadOwnCertificate(config);
            using var offer = await PeerRootFetcher.FetchAsync(address, own, cancellationToken).ConfigureAwait(false);
            var root = PeerRootSelection.Select(offer, peerId, authority, given, expectedPin);
            io.Error.WriteLine($"{authority} presented {peerId}, valid under the root {SpkiPin.Compute(root)} from its trust bundle");
            return root;
        }
    }

    /// <summary>This node's gateway certificate and key, presented to the peer by <c>--fetch</c>.</summary>
    private static X509Certificate2 LoadOwnCertificate(LoadedConfig config)
    {
        var tls = config.Config.Node.Tls;
        var certificate = config.Resolve(tls.Certificate);
        var key = config.Resolve(tls.Key);
        try
        {
            return PemFiles.LoadCertificateWithKey(certificate, key);
        }
        catch (Exception ex) when (ex is CryptoFileException or System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--fetch connects with this node's gateway certificate (node.tls: '{certificate}', '{key}'), which cannot be loaded: {ex.Message}");
        }
    }
}
