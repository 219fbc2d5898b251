using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Crypto;

/// <summary>
/// Checks a root-signed trust bundle (TUF-style). Accepted only when at least one signature verifies under a root
/// the caller already trusts for the domain, every root it lists that the caller does not trust yet has signed it
/// too (so a new root comes in only signed by the current one and by itself), it describes the expected domain,
/// its contents are well formed and, unless asked otherwise, it has not expired. Sequence ordering is the caller's
/// (it knows what it holds). Pure: no I/O, time passed in.
/// </summary>
public static class TrustBundleVerifier
{
    /// <summary>Largest serialized bundle accepted.</summary>
    public const int MaxBundleBytes = 1024 * 1024;

    /// <summary>Most roots one bundle may list.</summary>
    public const int MaxRoots = 8;

    /// <summary>Most signatures one bundle may carry.</summary>
    public const int MaxSignatures = 8;

    /// <summary>Most revoked serials one bundle may list.</summary>
    public const int MaxRevoked = 100_000;

    /// <summary>Most key announcements served beside one bundle.</summary>
    public const int MaxAnnouncements = 64;

    /// <summary>Refresh hint used when a bundle gives none.</summary>
    public const uint DefaultRefreshSeconds = 300;

    /// <summary>
    /// Verifies <paramref name="signed"/> as a bundle of <paramref name="expectedDomain"/> against
    /// <paramref name="trustedRoots"/> (the roots the caller trusts for that domain now). Returns the verified
    /// bundle, or null with <paramref name="error"/> saying what was wrong.
    /// </summary>
    public static VerifiedTrustBundle? Verify(SignedTrustBundle signed, string expectedDomain, IReadOnlyCollection<X509Certificate2> trustedRoots,
        DateTimeOffset now, out string? error, bool checkExpiry = true)
    {
        ArgumentNullException.ThrowIfNull(signed);
        ArgumentNullException.ThrowIfNull(trustedRoots);
        if (signed.Bundle.Length == 0)
        {
            error = "trust bundle is empty";
            return null;
        }

        if (signed.Bundle.Length > MaxBundleBytes)
        {
            error = $"trust bundle is {signed.Bundle.Length} bytes; the limit is {MaxBundleBytes}";
            return null;
        }

        if (signed.Signatures.Count == 0)
        {
            error = "trust bundle carries no root signature";
            return null;
        }

        if (signed.Signatures.Count > MaxSignatures)
        {
            error = $"trust bundle carries {signed.Signatures.Count} signatures; the limit is {MaxSignatures}";
            return null;
        }

        if (signed.KeyAnnouncements.Count > MaxAnnouncements)
        {
            error = $"trust bundle carries {signed.KeyAnnouncements.Count} key announcements; the limit is {MaxAnnouncements}";
            return null;
        }

        // 1. Signatures over the exact bytes, before anything inside them is believed.
        var trustedSigners = new List<string>();
        foreach (var signature in signed.Signatures)
        {
            if (signature.RootSpkiSha256.Length != 32)
            {
                error = $"a root signature names its root with {signature.RootSpkiSha256.Length} bytes; SHA-256 of the root's SPKI (32 bytes) is required";
                return null;
            }

            var root = FindBySpki(trustedRoots, signature.RootSpkiSha256.Span);
            if (root is null)
            {
                continue;
            }

            if (!IdentitySignatures.Verify(SignaturePurpose.TrustBundle, signed.Bundle.Span, signature.Signature.Span, root))
            {
                error = $"the signature of root {SpkiPin.Compute(root)} over the trust bundle does not verify (bundle altered or signature corrupt)";
                return null;
            }

            trustedSigners.Add(SpkiPin.Compute(root));
        }

        if (trustedSigners.Count == 0)
        {
            var named = signed.Signatures.Select(s => SpkiPin.Prefix + Convert.ToHexStringLower(s.RootSpkiSha256.Span));
            error = $"trust bundle is not signed by a root trusted for {expectedDomain} (trusted: {Pins(trustedRoots)}; signed by: {string.Join(", ", named)})";
            return null;
        }

        // 2. Contents.
        var parsed = Parse(signed, out error);
        if (parsed is null)
        {
            return null;
        }

        var (bundle, roots, pins, revoked) = parsed.Value;
        if (!string.Equals(bundle.TrustDomain, expectedDomain, StringComparison.Ordinal))
        {
            error = $"trust bundle describes '{bundle.TrustDomain}', not {expectedDomain}; bundles of different domains are never merged";
            return null;
        }

        // 3. A root not trusted yet must prove possession of its key by signing the bundle that introduces it.
        var signers = new List<string>(trustedSigners);
        for (var i = 0; i < roots.Count; i++)
        {
            if (FindBySpki(trustedRoots, SpkiPin.ComputeBytes(roots[i])) is not null)
            {
                continue;
            }

            var spki = SpkiPin.ComputeBytes(roots[i]);
            var own = signed.Signatures.FirstOrDefault(s => s.RootSpkiSha256.Span.SequenceEqual(spki));
            if (own is null || !IdentitySignatures.Verify(SignaturePurpose.TrustBundle, signed.Bundle.Span, own.Signature.Span, roots[i]))
            {
                error = $"trust bundle introduces root {pins[i]} without that root's own signature";
                return null;
            }

            signers.Add(pins[i]);
        }

        if (checkExpiry && bundle.ExpiresAt.ToDateTimeOffset() <= now)
        {
            error = $"trust bundle sequence {bundle.Sequence} of {bundle.TrustDomain} expired at {bundle.ExpiresAt.ToDateTimeOffset():u}";
            return null;
        }

        error = null;
        return new VerifiedTrustBundle
        {
            Signed = signed,
            Bundle = bundle,
            Roots = roots,
            RootPins = pins,
            SignerPins = signers.Distinct(StringComparer.Ordinal).ToArray(),
            RevokedSerials = revoked,
        };
    }

    /// <summary>
    /// Verifies a bundle only for its internal consistency: signed by at least one root it lists, well formed.
    /// For operators inspecting a file (<c>certs bundle show</c>) and for bundles re-read from this node's database;
    /// never a trust decision about a peer.
    /// </summary>
    public static VerifiedTrustBundle? VerifySelfSigned(SignedTrustBundle signed, DateTimeOffset now, out string? error, bool checkExpiry = false)
    {
        ArgumentNullException.ThrowIfNull(signed);
        if (signed.Bundle.Length is 0 or > MaxBundleBytes)
        {
            error = signed.Bundle.Length == 0 ? "trust bundle is empty" : $"trust bundle is larger than {MaxBundleBytes} bytes";
            return null;
        }

        var parsed = Parse(signed, out error);
        if (parsed is null)
        {
            return null;
        }

        return Verify(signed, parsed.Value.Bundle.TrustDomain, parsed.Value.Roots, now, out error, checkExpiry);
    }

    private static (TrustBundle Bundle, List<X509Certificate2> Roots, List<string> Pins, List<string> Revoked)? Parse(SignedTrustBundle signed, out string? error)
    {
        TrustBundle bundle;
        try
        {
            bundle = TrustBundle.Parser.ParseFrom(signed.Bundle);
        }
        catch (InvalidProtocolBufferException ex)
        {
            error = "trust bundle is malformed: " + ex.Message;
            return null;
        }

        if (!TrustDomains.IsValid(bundle.TrustDomain, out var domainError))
        {
            error = "trust bundle trust_domain: " + domainError;
            return null;
        }

        if (bundle.Sequence == 0)
        {
            error = "trust bundle sequence must be 1 or more";
            return null;
        }

        if (bundle.IssuedAt is null || bundle.ExpiresAt is null)
        {
            error = "trust bundle lacks issued_at or expires_at";
            return null;
        }

        if (!IsValidTimestamp(bundle.IssuedAt) || !IsValidTimestamp(bundle.ExpiresAt))
        {
            error = "trust bundle issued_at or expires_at is not a valid timestamp";
            return null;
        }

        if (bundle.ExpiresAt.ToDateTimeOffset() <= bundle.IssuedAt.ToDateTimeOffset())
        {
            error = "trust bundle expires_at is not after issued_at";
            return null;
        }

        if (bundle.RefreshHintSeconds > 86_400)
        {
            error = $"trust bundle refresh_hint_seconds {bundle.RefreshHintSeconds} exceeds 86400";
            return null;
        }

        if (bundle.RootCertificates.Count is 0 or > MaxRoots)
        {
            error = $"trust bundle lists {bundle.RootCertificates.Count} roots; 1 to {MaxRoots} are required";
            return null;
        }

        var roots = new List<X509Certificate2>();
        var pins = new List<string>();
        foreach (var der in bundle.RootCertificates)
        {
            X509Certificate2 root;
            try
            {
                root = X509CertificateLoader.LoadCertificate(der.Span);
            }
            catch (CryptographicException ex)
            {
                error = "trust bundle lists a root that is not a DER certificate: " + ex.Message;
                return null;
            }

            try
            {
                // Same rules as a pinned root: a self-issued CA whose SPIFFE URI (if any) names this domain. Reading its
                // extensions and key decodes them: a malformed one throws CryptographicException (found by fuzzing).
                _ = new TrustAnchor(bundle.TrustDomain, root, SpkiPin.Compute(root));
                using var key = root.GetECDsaPublicKey();
                if (key is null)
                {
                    error = "trust bundle lists an unusable root: its key is not ECDSA (roots sign bundles with ECDSA P-256)";
                    return null;
                }
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                error = "trust bundle lists an unusable root: " + ex.Message;
                return null;
            }

            var pin = SpkiPin.Compute(root);
            if (pins.Contains(pin, StringComparer.Ordinal))
            {
                error = $"trust bundle lists root {pin} twice";
                return null;
            }

            roots.Add(root);
            pins.Add(pin);
        }

        if (bundle.RevokedSerials.Count > MaxRevoked)
        {
            error = $"trust bundle lists {bundle.RevokedSerials.Count} revoked serials; the limit is {MaxRevoked}";
            return null;
        }

        var revoked = new List<string>(bundle.RevokedSerials.Count);
        foreach (var serial in bundle.RevokedSerials)
        {
            if (!IsSerial(serial))
            {
                error = $"trust bundle revoked serial '{serial}' is not upper-case hex of 1-64 digits";
                return null;
            }

            revoked.Add(serial);
        }

        error = null;
        return (bundle, roots, pins, revoked);
    }

    /// <summary>
    /// Whether <paramref name="time"/> is absent or a timestamp protobuf can convert (nanos 0-999999999, years 1-9999);
    /// anything else would throw when read.
    /// </summary>
    public static bool IsValidTimestamp(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is null || (time.Nanos is >= 0 and <= 999_999_999 && time.Seconds is >= -62_135_596_800L and <= 253_402_300_799L);

    /// <summary>True for a serial as bundles carry it: 1-64 upper-case hex digits.</summary>
    public static bool IsSerial(string serial) =>
        serial.Length is > 0 and <= 64 && serial.All(c => c is (>= '0' and <= '9') or (>= 'A' and <= 'F'));

    private static X509Certificate2? FindBySpki(IEnumerable<X509Certificate2> roots, ReadOnlySpan<byte> spkiSha256)
    {
        foreach (var root in roots)
        {
            if (SpkiPin.ComputeBytes(root).AsSpan().SequenceEqual(spkiSha256))
            {
                return root;
            }
        }

        return null;
    }

    private static string Pins(IEnumerable<X509Certificate2> roots)
    {
        var text = string.Join(", ", roots.Select(SpkiPin.Compute));
        return text.Length == 0 ? "none" : text;
    }
}
