using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Trust;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// The trust page: this node's own root-signed trust bundle (roots, revoked serials, sequence) and the one way the
/// console revokes: applying a bundle made offline with the domain's root key (<c>certs revoke</c>, <c>certs bundle
/// sign</c>). The root key never reaches the gateway; the upload runs <c>certs bundle install</c>'s own code
/// (<see cref="TrustBundleEditing.InstallAsync"/>), so the node verifies the root's signature and refuses an older
/// sequence exactly as when it loads a bundle from disk, and reloads: a revoked certificate is refused from its next
/// request or connection on, and open streams presenting it are closed.
/// </summary>
internal sealed partial class ConsolePages
{
    /// <summary>Largest upload accepted by POST /trust/install (a bundle file's limit plus form overhead).</summary>
    public const long MaxBundleUpload = TrustBundleVerifier.MaxBundleBytes * 2L + 64 * 1024;

    public IResult TrustPage(HttpContext context)
    {
        var own = trustSnapshot.Current.OwnBundle;
        var now = time.GetUtcNow();
        var html = new ConsoleHtml();
        html.Raw("<section id=\"own-bundle\"><h2>This domain's trust bundle</h2><dl>");
        html.Term("trust domain", own.TrustDomain);
        html.Term("sequence", own.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        html.Term("issued", ConsoleHtml.Time(own.IssuedAt));
        html.Term("expires", $"{ConsoleHtml.Time(own.ExpiresAt)} ({ExpiryText(own.ExpiresAt, now)})", ExpiryClass(own.ExpiresAt, now));
        html.Term("roots", string.Join(", ", own.RootPins), "mono");
        html.Term("signed by", string.Join(", ", own.SignerPins), "mono");
        html.Raw("</dl><h3>Revoked serials</h3>");
        if (own.RevokedSerials.Count == 0)
        {
            html.Element("p", "none", "muted");
        }
        else
        {
            html.Raw("<ul id=\"revoked\">");
            foreach (var serial in own.RevokedSerials)
            {
                html.Element("li", serial, "mono");
            }

            html.Raw("</ul>");
        }

        html.Raw("</section><section id=\"apply-bundle\"><h2>Apply a signed trust bundle (revocation)</h2>");
        html.Element("p", "Revoking needs the domain's root key, which stays offline: run 'certs revoke --ca-dir <ca> --serial <serial>' (or 'certs bundle sign') " +
            "on the CA machine and upload the trust-bundle.pb it writes. The node checks it as 'certs bundle install' does (this domain, signed by node.tls.root, " +
            "not expired, not older than the bundle in use), installs it and reloads: the revoked certificate is refused from its next request on.", "muted");
        html.Raw("<form method=\"post\" class=\"action\" id=\"apply-bundle-form\" action=\"/trust/install\" enctype=\"multipart/form-data\">");
        Hidden(html, ConsoleServer.CsrfField, Antiforgery(context).GetAndStoreTokens(context).RequestToken ?? "");
        var mayAct = ConsoleServer.Caller(context).MayAct;
        html.Raw("<input type=\"file\" name=\"bundle\" required aria-label=\"signed trust bundle\">")
            .Raw("<input type=\"text\" name=\"reason\" required maxlength=\"500\" placeholder=\"reason (audited)\" aria-label=\"apply-bundle reason\">")
            .Raw("<button type=\"submit\"").Raw(mayAct ? "" : " disabled").Raw(">Verify and apply</button></form></section>");
        return Page(context, "Trust", html);
    }

    /// <summary>POST /trust/install: the operator role, a CSRF token and a bundle file; installed as <c>certs bundle install</c> does, audited.</summary>
    public async Task<IResult> InstallBundleAsync(HttpContext context)
    {
        var caller = ConsoleServer.Caller(context);
        var ct = context.RequestAborted;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBundleUpload;
        }

        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(ct).ConfigureAwait(false) : null;
        await RequireActionAsync(context, caller, "apply-trust-bundle").ConfigureAwait(false);
        var reason = form?["reason"].ToString().Trim() ?? "";
        var file = form?.Files.GetFile("bundle");
        using var output = new StringWriter();
        using var error = new StringWriter();
        VerifiedTrustBundle bundle;
        try
        {
            if (file is null || file.Length == 0)
            {
                throw new CliException("choose the signed trust bundle file (trust-bundle.pb) to upload; nothing was changed");
            }

            byte[] bytes;
            using (var buffer = new MemoryStream())
            {
                await file.CopyToAsync(buffer, ct).ConfigureAwait(false);
                bytes = buffer.ToArray();
            }

            var source = $"'{Path.GetFileName(file.FileName)}' (uploaded)";
            var signed = TrustBundleFile.Parse(bytes, source);
            bundle = await TrustBundleEditing.InstallAsync(CliIo.Capture(output, error), signed, source, reloader.ConfigPath, time.GetUtcNow(), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CliException or InvalidDataException or IOException)
        {
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console apply-trust-bundle", Decision = "refused", Reason = ex.Message });
            throw new ConsoleRefusal(400, ex.Message);
        }

        var refused = error.ToString().Trim();
        auditSink.AuditLater(new AuditEntry
        {
            Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console apply-trust-bundle",
            Decision = refused.Length == 0 ? "applied" : "saved-not-applied",
            Reason = $"{reason}; sequence {bundle.Sequence}, {bundle.RevokedSerials.Count} revoked serial(s), signed by {string.Join(", ", bundle.SignerPins)}" + (refused.Length == 0 ? "" : "; " + refused),
        });
        if (refused.Length > 0)
        {
            throw new ConsoleRefusal(400, "the bundle was installed but the running node refused to reload and keeps its previous bundle: " + refused);
        }

        var html = new ConsoleHtml();
        html.Element("p", $"applied trust bundle sequence {bundle.Sequence} ({bundle.RevokedSerials.Count} revoked serial(s))", "ok notice")
            .Element("pre", output.ToString().Trim()).Link("/trust", "back to trust");
        return Page(context, "Trust bundle applied", html);
    }
}
