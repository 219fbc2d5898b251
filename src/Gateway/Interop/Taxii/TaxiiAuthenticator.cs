using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Policy;
using Microsoft.AspNetCore.Http;

namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>
/// Who is calling the TAXII server: an analyst certificate of this node's own domain
/// (<c>spiffe://&lt;domain&gt;/analyst/&lt;name&gt;</c>, chain and revocation checked like every other client) or HTTP
/// basic with a secret matching a configured PBKDF2 hash. Anything else is 401. The analyst list and clearances are
/// read from the current config on every request, so a reload applies them.
/// </summary>
internal sealed class TaxiiAuthenticator(ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, IAuditSink auditSink, TimeProvider time)
{
    private static readonly TimeSpan s_remember = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _verified = new(StringComparer.Ordinal);

    // PBKDF2 costs ~0.1-0.5 s of CPU: at most two verifications at once, so wrong guesses cannot take every core.
    private readonly SemaphoreSlim _hashing = new(2, 2);

    public async Task<TaxiiCaller> AuthenticateAsync(HttpContext context, CancellationToken ct)
    {
        var analysts = trustSnapshot.Current.Config.Config.Taxii?.Analysts ?? [];
        var certificate = context.Connection.ClientCertificate;
        if (certificate is not null)
        {
            return FromCertificate(certificate, analysts);
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return await FromBasicAsync(header["Basic ".Length..].Trim(), analysts, ct).ConfigureAwait(false);
        }

        throw Unauthorized("authenticate with an analyst certificate of this node's domain or HTTP basic");
    }

    private TaxiiCaller FromCertificate(X509Certificate2 certificate, IReadOnlyList<TaxiiAnalystConfig> analysts)
    {
        var result = trustSnapshot.Current.Validator.Validate(certificate, null, CertificatePurpose.Client);
        if (!result.IsValid || result.Id is not { } id)
        {
            auditSink.RecordDenial(certificate.Subject, "taxii", $"{result.Rejection}: {result.Reason}");
            throw Unauthorized("client certificate refused: " + result.Reason);
        }

        if (id.Kind != WorkloadKind.Analyst || id.TrustDomain != identitySource.Current.Id.TrustDomain)
        {
            auditSink.RecordDenial(id.ToString(), "taxii", "not an analyst of this domain");
            throw new TaxiiError(403, "Forbidden", $"'{id}' is not an analyst of {identitySource.Current.Id.TrustDomain}");
        }

        var entry = analysts.FirstOrDefault(a => a.Name == id.Name);
        return new TaxiiCaller(id.Name, "certificate", Clearance(entry), entry?.CanWrite ?? false);
    }

    private async Task<TaxiiCaller> FromBasicAsync(string encoded, IReadOnlyList<TaxiiAnalystConfig> analysts, CancellationToken ct)
    {
        string user, secret;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new FormatException("no ':'");
            }

            user = text[..colon];
            secret = text[(colon + 1)..];
        }
        catch (FormatException)
        {
            throw Unauthorized("malformed basic credentials");
        }

        var entry = analysts.FirstOrDefault(a => a.Name == user && a.SecretHash is not null);
        if (entry is null)
        {
            auditSink.RecordDenial("taxii-basic:" + Truncate(user), "taxii", "unknown analyst");
            throw Unauthorized("unknown analyst or wrong secret");
        }

        var key = SecretHash.VerificationKey(user, secret, entry.SecretHash!);
        var now = time.GetUtcNow();
        if (_verified.TryGetValue(key, out var until) && until > now)
        {
            return new TaxiiCaller(user, "basic", Clearance(entry), entry?.CanWrite ?? false);
        }

        await _hashing.WaitAsync(ct).ConfigureAwait(false);
        bool ok;
        try
        {
            ok = SecretHash.Verify(secret, entry.SecretHash!);
        }
        finally
        {
            _hashing.Release();
        }

        if (!ok)
        {
            auditSink.RecordDenial("taxii-basic:" + Truncate(user), "taxii", "wrong secret");
            throw Unauthorized("unknown analyst or wrong secret");
        }

        if (_verified.Count > 10_000)
        {
            _verified.Clear();
        }

        _verified[key] = now + s_remember;
        return new TaxiiCaller(user, "basic", Clearance(entry), entry?.CanWrite ?? false);
    }

    private static Tlp Clearance(TaxiiAnalystConfig? entry) =>
        entry is not null && TlpNames.TryParse(entry.Clearance, out var tlp) ? tlp : Tlp.Amber;

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64];

    private static TaxiiError Unauthorized(string why) => new(401, "Unauthorized", why);
}
