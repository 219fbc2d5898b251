using System.Net;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using Microsoft.AspNetCore.Http;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// Who is calling the console. With TLS: an operator certificate of this node's own domain
/// (<c>spiffe://&lt;domain&gt;/operator/&lt;name&gt;</c>), chain and revocations checked like every other client, on every
/// request; the role comes from <c>console.operators</c> of the current config (read-only when not listed), so a reload
/// applies it. Loopback-only: any caller from a loopback address, read-only. Anything else is refused and counted as a
/// denied call.
/// </summary>
internal sealed class ConsoleAuthenticator(ConsoleConfig config, ITrustSnapshot trustSnapshot, INodeIdentitySource identitySource, IAuditSink auditSink)
{
    public ConsoleCaller Authenticate(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (config.LoopbackOnly)
        {
            if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
            {
                auditSink.RecordDenial(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", "console", "not a loopback address");
                throw new ConsoleRefusal(403, "this console serves only callers on this machine (console.loopbackOnly)");
            }

            return new ConsoleCaller("loopback", ConsoleRoles.ReadOnly);
        }

        var domain = identitySource.Current.Id.TrustDomain;
        var certificate = context.Connection.ClientCertificate
            ?? throw new ConsoleRefusal(401, $"no client certificate: present an operator certificate of {domain} (issued with 'certs issue --kind operator')");
        var result = trustSnapshot.Current.Validator.Validate(certificate, null, CertificatePurpose.Client);
        if (!result.IsValid || result.Id is not { } id)
        {
            auditSink.RecordDenial(certificate.Subject, "console", $"{result.Rejection}: {result.Reason}");
            throw new ConsoleRefusal(401, "client certificate refused: " + result.Reason);
        }

        if (id.Kind != WorkloadKind.Operator || id.TrustDomain != domain)
        {
            auditSink.RecordDenial(id.ToString(), "console", "not an operator of this domain");
            throw new ConsoleRefusal(403, $"'{id}' is not an operator of {domain}; the console needs spiffe://{domain}/operator/<name>");
        }

        var entry = trustSnapshot.Current.Config.Config.Console?.Operators.FirstOrDefault(o => o.Name == id.Name);
        return new ConsoleCaller(id.ToString(), entry?.Role ?? ConsoleRoles.ReadOnly);
    }
}
