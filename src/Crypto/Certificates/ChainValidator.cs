using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CyberCoop.Crypto;

/// <summary>
/// Validates SPIFFE workload certificate chains against configured, pinned trust anchors only (never the OS
/// store, never a network fetch). A chain is accepted only when it ends at an anchor of the trust domain
/// named in the leaf's own SPIFFE id: a root authenticates identities of its own domain only. A domain may
/// have several anchors while it rotates its root (the roots of its accepted trust bundle).
/// Immutable and thread-safe; see docs/crypto.md §3.1 for the exact order of checks.
/// </summary>
public sealed class ChainValidator
{
    private static readonly FrozenDictionary<string, FrozenSet<string>> s_noDomainRevocations =
        new Dictionary<string, FrozenSet<string>>(StringComparer.Ordinal).ToFrozenDictionary(StringComparer.Ordinal);

    private readonly FrozenDictionary<string, TrustAnchor[]> _anchors;
    private readonly FrozenSet<string> _revoked;
    private readonly FrozenDictionary<string, FrozenSet<string>> _revokedByDomain;
    private readonly TimeProvider _time;

    /// <summary>Creates a validator with one or more anchors per trust domain (several during a root rotation).</summary>
    /// <param name="anchors">Pinned roots; a chain of a domain is accepted when it ends at any anchor of that domain.</param>
    /// <param name="revokedSerials">Revoked serial numbers (hex, any case, separators ignored), applied to every domain.</param>
    /// <param name="time">Clock for validity checks.</param>
    public ChainValidator(IEnumerable<TrustAnchor> anchors, IEnumerable<string>? revokedSerials = null, TimeProvider? time = null)
        : this(GroupAnchors(anchors), (revokedSerials ?? []).Select(CertificateInspector.NormalizeSerial).ToFrozenSet(StringComparer.Ordinal),
            s_noDomainRevocations, time ?? TimeProvider.System)
    {
    }

    private ChainValidator(FrozenDictionary<string, TrustAnchor[]> anchors, FrozenSet<string> revoked,
        FrozenDictionary<string, FrozenSet<string>> revokedByDomain, TimeProvider time)
    {
        _anchors = anchors;
        _revoked = revoked;
        _revokedByDomain = revokedByDomain;
        _time = time;
    }

    /// <summary>
    /// Creates a validator whose revocations are scoped per trust domain: a serial revoked by one domain never
    /// revokes a certificate of another domain (a domain can only revoke its own certificates).
    /// </summary>
    /// <param name="anchors">Pinned roots; several per domain allowed.</param>
    /// <param name="revokedByDomain">Revoked serials per trust domain.</param>
    /// <param name="time">Clock for validity checks.</param>
    public static ChainValidator WithDomainRevocations(IEnumerable<TrustAnchor> anchors, IReadOnlyDictionary<string, IReadOnlyCollection<string>> revokedByDomain, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(revokedByDomain);
        var byDomain = revokedByDomain.ToFrozenDictionary(
            p => p.Key,
            p => p.Value.Select(CertificateInspector.NormalizeSerial).ToFrozenSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        return new ChainValidator(GroupAnchors(anchors), FrozenSet<string>.Empty, byDomain, time ?? TimeProvider.System);
    }

    /// <summary>The configured anchors by trust domain (one or more roots each).</summary>
    public IReadOnlyDictionary<string, TrustAnchor[]> Anchors => _anchors;

    /// <summary>A new validator with the same anchors and clock and the given revoked serials (replacing the current lists).</summary>
    public ChainValidator WithRevokedSerials(IEnumerable<string> serials)
    {
        ArgumentNullException.ThrowIfNull(serials);
        return new ChainValidator(_anchors, serials.Select(CertificateInspector.NormalizeSerial).ToFrozenSet(StringComparer.Ordinal), s_noDomainRevocations, _time);
    }

    private static FrozenDictionary<string, TrustAnchor[]> GroupAnchors(IEnumerable<TrustAnchor> anchors)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        var map = new Dictionary<string, List<TrustAnchor>>(StringComparer.Ordinal);
        foreach (var anchor in anchors)
        {
            ArgumentNullException.ThrowIfNull(anchor, nameof(anchors));
            if (!map.TryGetValue(anchor.TrustDomain, out var list))
            {
                map[anchor.TrustDomain] = list = [];
            }

            if (!list.Exists(a => a.Pin == anchor.Pin))
            {
                list.Add(anchor);
            }
        }

        return map.ToFrozenDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Validates <paramref name="leaf"/> (with optional intermediates) for <paramref name="purpose"/>.</summary>
    public ChainValidationResult Validate(X509Certificate2? leaf, X509Certificate2Collection? intermediates, CertificatePurpose purpose)
    {
        if (leaf is null)
        {
            return ChainValidationResult.Reject(ChainRejection.NoCertificate, "no certificate was presented");
        }

        IReadOnlyList<string> uris;
        try
        {
            uris = CertificateInspector.UriSans(leaf);
        }
        catch (CryptographicException ex)
        {
            return ChainValidationResult.Reject(ChainRejection.MalformedSpiffeId, ex.Message);
        }

        if (uris.Count == 0)
        {
            return ChainValidationResult.Reject(ChainRejection.NoUriSan, $"certificate '{leaf.Subject}' has no URI subjectAltName (SPIFFE id)");
        }

        if (uris.Count > 1)
        {
            return ChainValidationResult.Reject(ChainRejection.MultipleUriSans, $"certificate '{leaf.Subject}' has {uris.Count} URI subjectAltNames; exactly one SPIFFE id is required");
        }

        var uri = uris[0];
        if (!uri.StartsWith(SpiffeId.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return ChainValidationResult.Reject(ChainRejection.NotSpiffe, $"URI SAN '{uri}' is not a spiffe:// URI");
        }

        if (!SpiffeId.TryParse(uri, out var id, out var idError))
        {
            return ChainValidationResult.Reject(ChainRejection.MalformedSpiffeId, $"URI SAN '{uri}' is not a valid SPIFFE id: {idError}");
        }

        if (CertificateInspector.IsCertificateAuthority(leaf))
        {
            return ChainValidationResult.Reject(ChainRejection.CertificateAuthorityAsLeaf, $"certificate for '{id}' is a CA certificate (cA=true) and cannot be used as a workload certificate", id);
        }

        var now = _time.GetUtcNow();
        var timeProblem = CheckTime(leaf, now, id);
        if (timeProblem is not null)
        {
            return timeProblem;
        }

        var keyUsage = CertificateInspector.KeyUsage(leaf);
        if (keyUsage is null || (keyUsage.Value & X509KeyUsageFlags.DigitalSignature) == 0)
        {
            return ChainValidationResult.Reject(ChainRejection.WrongKeyUsage, $"certificate for '{id}' lacks keyUsage digitalSignature", id);
        }

        if ((keyUsage.Value & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
        {
            return ChainValidationResult.Reject(ChainRejection.WrongKeyUsage, $"certificate for '{id}' allows certificate or CRL signing", id);
        }

        IReadOnlySet<string> ekus;
        try
        {
            ekus = CertificateInspector.ExtendedKeyUsages(leaf);
        }
        catch (CryptographicException ex)
        {
            // Found by fuzzing: a malformed extension is read only here (the chain check does not decode it).
            return ChainValidationResult.Reject(ChainRejection.WrongExtendedKeyUsage, $"certificate for '{id}' its extendedKeyUsage extension is malformed: {ex.Message}", id);
        }

        var requiredEku = purpose == CertificatePurpose.Server ? CertificateAuthority.ServerAuthOid : CertificateAuthority.ClientAuthOid;
        if (!ekus.Contains(requiredEku))
        {
            var name = purpose == CertificatePurpose.Server ? "serverAuth" : "clientAuth";
            return ChainValidationResult.Reject(ChainRejection.WrongExtendedKeyUsage, $"certificate for '{id}' lacks extendedKeyUsage {name} required for a TLS {purpose.ToString().ToLowerInvariant()}", id);
        }

        if (purpose == CertificatePurpose.Server && id.Kind != WorkloadKind.Gateway)
        {
            return ChainValidationResult.Reject(ChainRejection.WrongWorkloadKind, $"'{id}' is a {SpiffeId.KindSegment(id.Kind)}; only gateways may act as TLS servers", id);
        }

        if (IsRevoked(leaf, id.TrustDomain))
        {
            return ChainValidationResult.Reject(ChainRejection.Revoked, $"certificate for '{id}' (serial {leaf.SerialNumber}) is revoked", id);
        }

        if (!_anchors.TryGetValue(id.TrustDomain, out var anchors))
        {
            return ChainValidationResult.Reject(ChainRejection.UnknownTrustDomain, $"no trust anchor is configured for trust domain '{id.TrustDomain}' (claimed by '{id}')", id);
        }

        ChainValidationResult? firstFailure = null;
        foreach (var anchor in anchors)
        {
            var result = ValidateAgainst(anchor, leaf, intermediates, now, id);
            if (result.IsValid)
            {
                return result;
            }

            firstFailure ??= result;
        }

        return firstFailure!;
    }

    private ChainValidationResult ValidateAgainst(TrustAnchor anchor, X509Certificate2 leaf, X509Certificate2Collection? intermediates, DateTimeOffset now, SpiffeId id)
    {
        using var chain = BuildChain(anchor.Root, intermediates, now);
        if (!chain.Build(leaf))
        {
            return ExplainFailure(chain, leaf, intermediates, now, id);
        }

        var elements = chain.ChainElements;
        var top = elements[^1].Certificate;
        if (!top.RawData.AsSpan().SequenceEqual(anchor.Root.RawData))
        {
            return ChainValidationResult.Reject(ChainRejection.UntrustedRoot, $"chain for '{id}' ends at '{top.Subject}', not at the root of '{id.TrustDomain}'", id);
        }

        if (!SpkiPin.Matches(top, anchor.Pin))
        {
            return ChainValidationResult.Reject(ChainRejection.PinMismatch, $"root of '{id.TrustDomain}' does not match its pin {anchor.Pin}", id);
        }

        for (var i = 1; i < elements.Count - 1; i++)
        {
            var intermediate = elements[i].Certificate;
            if (IsRevoked(intermediate, id.TrustDomain))
            {
                return ChainValidationResult.Reject(ChainRejection.Revoked, $"intermediate '{intermediate.Subject}' (serial {intermediate.SerialNumber}) in the chain of '{id}' is revoked", id);
            }

            var problem = CheckTime(intermediate, now, id);
            if (problem is not null)
            {
                return problem;
            }
        }

        return ChainValidationResult.Accept(id);
    }

    private static X509Chain BuildChain(X509Certificate2 root, X509Certificate2Collection? intermediates, DateTimeOffset now)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (intermediates is not null)
        {
            foreach (var cert in intermediates)
            {
                chain.ChainPolicy.ExtraStore.Add(cert);
            }
        }

        return chain;
    }

    private ChainValidationResult ExplainFailure(X509Chain chain, X509Certificate2 leaf, X509Certificate2Collection? intermediates, DateTimeOffset now, SpiffeId id)
    {
        // A root of another configured domain that would accept this chain: cross-domain impersonation.
        foreach (var other in _anchors.Values.SelectMany(a => a))
        {
            if (other.TrustDomain == id.TrustDomain)
            {
                continue;
            }

            using var probe = BuildChain(other.Root, intermediates, now);
            if (probe.Build(leaf))
            {
                return ChainValidationResult.Reject(ChainRejection.WrongDomainRoot, $"certificate claims '{id}' but chains to the root of trust domain '{other.TrustDomain}'; a root authenticates only its own domain", id);
            }
        }

        var flags = X509ChainStatusFlags.NoError;
        foreach (var status in chain.ChainStatus)
        {
            flags |= status.Status;
        }

        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            return ChainValidationResult.Reject(ChainRejection.Expired, $"a certificate in the chain of '{id}' is outside its validity period at {now:O}", id);
        }

        if ((flags & (X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.UntrustedRoot)) != 0)
        {
            return ChainValidationResult.Reject(ChainRejection.UntrustedRoot, $"certificate for '{id}' does not chain to the pinned root of '{id.TrustDomain}'", id);
        }

        var text = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0));
        return ChainValidationResult.Reject(ChainRejection.ChainBuildFailed, $"chain for '{id}' failed validation: {(text.Length > 0 ? text : flags.ToString())}", id);
    }

    private static ChainValidationResult? CheckTime(X509Certificate2 cert, DateTimeOffset now, SpiffeId id)
    {
        var notBefore = new DateTimeOffset(cert.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (now < notBefore)
        {
            return ChainValidationResult.Reject(ChainRejection.NotYetValid, $"certificate '{cert.Subject}' for '{id}' is not valid before {notBefore:O} (now {now:O})", id);
        }

        if (now > notAfter)
        {
            return ChainValidationResult.Reject(ChainRejection.Expired, $"certificate '{cert.Subject}' for '{id}' expired at {notAfter:O} (now {now:O})", id);
        }

        return null;
    }

    private bool IsRevoked(X509Certificate2 cert, string trustDomain)
    {
        if (_revoked.Count == 0 && _revokedByDomain.Count == 0)
        {
            return false;
        }

        var serial = CertificateInspector.NormalizeSerial(cert.SerialNumber);
        return _revoked.Contains(serial) || (_revokedByDomain.TryGetValue(trustDomain, out var domain) && domain.Contains(serial));
    }
}
