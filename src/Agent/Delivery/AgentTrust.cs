using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Tailing;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Delivery;

/// <summary>
/// The roots the agent trusts for its own domain, and how they move on. At first only the pinned root of agent.json
/// (<c>tls.root</c>, <c>tls.rootPin</c>); then the roots of the newest trust bundle the agent accepted from its gateway.
/// A bundle is accepted only when a root trusted now signed it, every root it introduces signed it too, it describes the
/// own domain, has not expired and has a higher sequence than the one held (TUF-style, the same rules as between
/// gateways). The accepted bundle is written to the state folder before it is used, so a restarted agent keeps
/// following the rotation; it applies while it continues the configured pin (the pin it was anchored on, or a root it
/// lists), so an operator who re-pins the agent by hand starts trust again from the new pin.
/// </summary>
internal sealed class AgentTrust
{
    private readonly AgentSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly X509Certificate2 _pinnedRoot;
    private readonly Lock _gate = new();
    private State _state;
    private ChainRejection _lastRejection;

    private AgentTrust(AgentSettings settings, X509Certificate2 pinnedRoot, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _pinnedRoot = pinnedRoot;
        _time = time;
        _logger = logger;
        _state = Pinned();
    }

    /// <summary>Where the accepted bundle is kept (beside the state file).</summary>
    public string HeldPath => HeldPathOf(_settings);

    /// <summary>Validator for the gateway's server certificate under the roots trusted now.</summary>
    public ChainValidator Validator
    {
        get
        {
            lock (_gate)
            {
                return _state.Validator;
            }
        }
    }

    /// <summary>Sequence of the bundle held (0 while only the pinned root is trusted).</summary>
    public ulong HeldSequence
    {
        get
        {
            lock (_gate)
            {
                return _state.Bundle?.Sequence ?? 0;
            }
        }
    }

    /// <summary>Pins of the roots trusted now.</summary>
    public IReadOnlyList<string> RootPins
    {
        get
        {
            lock (_gate)
            {
                return _state.Bundle?.RootPins ?? [_settings.RootPin];
            }
        }
    }

    /// <summary>How often the held bundle asks to be refreshed (default 300 s while none is held).</summary>
    public TimeSpan RefreshInterval
    {
        get
        {
            lock (_gate)
            {
                var seconds = _state.Bundle?.Bundle.RefreshHintSeconds is > 0 and var hint ? hint : TrustBundleVerifier.DefaultRefreshSeconds;
                return TimeSpan.FromSeconds(seconds);
            }
        }
    }

    /// <summary>Where the agent's own domain's bundle path is kept for <paramref name="settings"/>.</summary>
    public static string HeldPathOf(AgentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Path.ChangeExtension(settings.StateFile, ".trust-bundle.json");
    }

    /// <summary>Loads the pinned root and the held bundle; throws <see cref="AgentConfigException"/> when the root is unusable.</summary>
    public static AgentTrust Load(AgentSettings settings, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        X509Certificate2 root;
        try
        {
            root = PemFiles.LoadCertificate(settings.RootPath);
            _ = new TrustAnchor(settings.TrustDomain, root, settings.RootPin);
        }
        catch (Exception ex) when (ex is CryptoFormatException or ArgumentException or IOException or System.Security.Cryptography.CryptographicException)
        {
            throw new AgentConfigException("tls: " + ex.Message, ex);
        }

        var trust = new AgentTrust(settings, root, time, logger);
        trust.Restore();
        return trust;
    }

    /// <summary>
    /// Remembers why the gateway's certificate was refused (called from the TLS callback), so delivery can tell a root it
    /// does not trust yet (worth fetching the bundle for) from other failures.
    /// </summary>
    public void NoteRejection(ChainRejection rejection, string reason)
    {
        lock (_gate)
        {
            _lastRejection = rejection;
            LastRejectionReason = reason;
        }
    }

    /// <summary>Records the identity of a gateway certificate that was accepted.</summary>
    public void NoteAccepted(SpiffeId gateway)
    {
        lock (_gate)
        {
            LastGatewayId = gateway.ToString();
            LastRejectionReason = null;
        }
    }

    /// <summary>Why the gateway's certificate was last refused (null after an accepted handshake).</summary>
    public string? LastRejectionReason { get; private set; }

    /// <summary>SPIFFE id of the last gateway certificate accepted.</summary>
    public string? LastGatewayId { get; private set; }

    /// <summary>Returns and clears whether the last refusal was a certificate chaining to a root not trusted (yet).</summary>
    public bool TakeUntrustedRootRejection()
    {
        lock (_gate)
        {
            var untrusted = _lastRejection is ChainRejection.UntrustedRoot or ChainRejection.WrongDomainRoot or ChainRejection.ChainBuildFailed;
            _lastRejection = ChainRejection.None;
            return untrusted;
        }
    }

    /// <summary>
    /// Checks <paramref name="signed"/> as the next bundle of the own domain and, when it is, persists it and trusts its
    /// roots. Returns null when it was accepted or is the bundle already held, else the reason it was refused.
    /// </summary>
    public string? Offer(SignedTrustBundle signed, string gateway)
    {
        ArgumentNullException.ThrowIfNull(signed);
        lock (_gate)
        {
            var held = _state.Bundle;
            if (held is not null && held.Signed.Bundle.Span.SequenceEqual(signed.Bundle.Span))
            {
                return null;
            }

            var trusted = held?.Roots ?? [_pinnedRoot];
            var verified = TrustBundleVerifier.Verify(signed, _settings.TrustDomain, trusted, _time.GetUtcNow(), out var error);
            if (verified is null)
            {
                AgentLog.TrustBundleRefused(_logger, gateway, error!);
                return error;
            }

            if (held is not null && verified.Sequence <= held.Sequence)
            {
                var reason = $"trust bundle sequence {verified.Sequence} is not newer than the sequence {held.Sequence} held (rollback refused)";
                AgentLog.TrustBundleRefused(_logger, gateway, reason);
                return reason;
            }

            var anchor = _state.AnchorPin;
            Persist(verified, anchor);
            _state = new State(verified, anchor, Build(verified));
            AgentLog.TrustBundleAccepted(_logger, verified.Sequence, gateway, string.Join(", ", verified.RootPins), HeldPath);
            return null;
        }
    }

    private State Pinned()
    {
        var validator = new ChainValidator([new TrustAnchor(_settings.TrustDomain, _pinnedRoot, _settings.RootPin)], time: _time);
        return new State(null, _settings.RootPin, validator);
    }

    private ChainValidator Build(VerifiedTrustBundle bundle) =>
        new(bundle.Roots.Select((r, i) => new TrustAnchor(_settings.TrustDomain, r, bundle.RootPins[i])), bundle.RevokedSerials, _time);

    private void Restore()
    {
        var path = HeldPath;
        if (!File.Exists(path))
        {
            return;
        }

        string? problem;
        try
        {
            var document = JsonSerializer.Deserialize(File.ReadAllBytes(path), HeldBundleJsonContext.Default.HeldBundleDocument);
            var signed = SignedTrustBundle.Parser.ParseFrom(document?.Bundle ?? []);
            var verified = TrustBundleVerifier.VerifySelfSigned(signed, _time.GetUtcNow(), out problem);
            if (verified is not null && document is not null)
            {
                if (verified.TrustDomain != _settings.TrustDomain)
                {
                    problem = $"it describes {verified.TrustDomain}, not {_settings.TrustDomain}";
                }
                else if (!string.Equals(document.AnchorPin, _settings.RootPin, StringComparison.Ordinal)
                    && !verified.RootPins.Contains(_settings.RootPin, StringComparer.Ordinal))
                {
                    problem = $"tls.rootPin was changed to {_settings.RootPin}, which neither anchored nor is listed in the held bundle (the explicit pin wins)";
                }
                else
                {
                    _state = new State(verified, document.AnchorPin, Build(verified));
                    AgentLog.TrustBundleRestored(_logger, verified.Sequence, string.Join(", ", verified.RootPins), path);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
        {
            problem = ex.Message;
        }

        AgentLog.TrustBundleIgnored(_logger, path, problem ?? "unreadable");
    }

    private void Persist(VerifiedTrustBundle bundle, string anchorPin)
    {
        var directory = Path.GetDirectoryName(HeldPath)!;
        Directory.CreateDirectory(directory);
        var temp = HeldPath + ".tmp";
        var document = new HeldBundleDocument
        {
            Version = 1,
            AnchorPin = anchorPin,
            Sequence = bundle.Sequence,
            AcceptedAt = _time.GetUtcNow(),
            Bundle = bundle.Signed.ToByteArray(),
        };
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, document, HeldBundleJsonContext.Default.HeldBundleDocument);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, HeldPath, overwrite: true);
        NativeFile.SyncDirectory(directory);
    }

    private sealed record State(VerifiedTrustBundle? Bundle, string AnchorPin, ChainValidator Validator);
}

/// <summary>On-disk form of the held trust bundle.</summary>
internal sealed record HeldBundleDocument
{
    /// <summary>Format version.</summary>
    public int Version { get; init; }

    /// <summary>The configured root pin the chain of accepted bundles started from.</summary>
    public string AnchorPin { get; init; } = "";

    /// <summary>Sequence of the bundle (for people reading the file; the bundle itself is authoritative).</summary>
    public ulong Sequence { get; init; }

    /// <summary>When the agent accepted it.</summary>
    public DateTimeOffset AcceptedAt { get; init; }

    /// <summary>The SignedTrustBundle exactly as served.</summary>
    public byte[] Bundle { get; init; } = [];
}

/// <summary>JSON metadata for <see cref="HeldBundleDocument"/>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(HeldBundleDocument))]
internal sealed partial class HeldBundleJsonContext : JsonSerializerContext;
