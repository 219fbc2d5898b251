using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Cli.Peers;
using CyberCoop.Gateway.Storage;
using Microsoft.AspNetCore.Http;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// Adding a peer from the console, in two steps as <c>peers add --fetch --pin</c>: the console reads the root the running
/// peer offers in its signed trust bundle and shows its fingerprint; the operator types the fingerprint the peer's
/// operator gave them out of band, and the peer is added by <see cref="PeerAddition"/> (the CLI's own code) only when the
/// offered root matches it. Both steps need the operator role and a CSRF token; additions and refusals are audited.
/// </summary>
internal sealed partial class ConsolePages
{
    private static readonly string[] s_ceilings = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT"];

    /// <summary>POST /peers/add/fetch: reads and shows the root the peer offers; pins nothing.</summary>
    public async Task<IResult> FetchPeerRootAsync(HttpContext context)
    {
        var caller = ConsoleServer.Caller(context);
        var ct = context.RequestAborted;
        var request = await ReadPeerRequestAsync(context, pin: null).ConfigureAwait(false);
        await RequireActionAsync(context, caller, "add-peer " + request.Id).ConfigureAwait(false);
        PeerRootPreview preview;
        try
        {
            preview = await PeerAddition.PreviewAsync(reloader.ConfigPath, request, ct).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console add-peer " + request.Id, Decision = "refused", Reason = ex.Message });
            throw new ConsoleRefusal(400, ex.Message);
        }

        var reason = context.Request.Form["reason"].ToString().Trim();
        var html = new ConsoleHtml();
        html.Raw("<section id=\"offered-root\"><h2>The root the peer offers</h2><dl>");
        html.Term("peer", preview.Peer, "mono");
        html.Term("address", request.Address, "mono");
        html.Term("root", preview.Subject);
        html.Term("valid", $"{ConsoleHtml.Time(preview.NotBefore)} .. {ConsoleHtml.Time(preview.NotAfter)}");
        html.Term("root pin (SPKI SHA-256)", preview.Pin, "mono");
        html.Raw("</dl>");
        html.Element("p", "Compare this fingerprint with the one the peer's operator gave you over a channel you trust (phone, in person, a signed letter) " +
            "and type that one below. The peer is added only when the root it offers then matches what you typed; a mismatch is refused and audited.", "muted");
        html.Raw("<form method=\"post\" class=\"action\" id=\"add-peer-confirm\" action=\"/peers/add\">");
        Hidden(html, ConsoleServer.CsrfField, Antiforgery(context).GetAndStoreTokens(context).RequestToken ?? "");
        Hidden(html, "id", request.Id);
        Hidden(html, "address", request.Address);
        Hidden(html, "tlpCeiling", request.TlpCeiling);
        Hidden(html, "reason", reason);
        html.Raw("<input type=\"text\" name=\"pin\" required autocomplete=\"off\" spellcheck=\"false\" placeholder=\"sha256:... as the peer's operator told you\" aria-label=\"expected root pin\">")
            .Raw("<button type=\"submit\">Pin and add this peer</button></form></section>");
        return Page(context, "Add peer: confirm its root", html);
    }

    /// <summary>POST /peers/add: adds the peer as <c>peers add --fetch --pin</c> does, with the pin the operator typed.</summary>
    public async Task<IResult> AddPeerAsync(HttpContext context)
    {
        var caller = ConsoleServer.Caller(context);
        var ct = context.RequestAborted;
        var pin = context.Request.HasFormContentType ? (await context.Request.ReadFormAsync(ct).ConfigureAwait(false))["pin"].ToString().Trim() : "";
        var request = await ReadPeerRequestAsync(context, pin).ConfigureAwait(false);
        await RequireActionAsync(context, caller, "add-peer " + request.Id).ConfigureAwait(false);
        var reason = context.Request.Form["reason"].ToString().Trim();
        using var output = new StringWriter();
        using var error = new StringWriter();
        PeerConfig peer;
        try
        {
            if (pin.Length == 0)
            {
                throw new CliException("type the root's pin the peer's operator gave you out of band; nothing was changed");
            }

            peer = await PeerAddition.AddAsync(CliIo.Capture(output, error), reloader.ConfigPath, request, ct).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console add-peer " + request.Id, Decision = "refused", Reason = ex.Message });
            throw new ConsoleRefusal(400, ex.Message);
        }

        var notApplied = error.ToString().Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.Contains(" presented ", StringComparison.Ordinal)).ToList();
        auditSink.AuditLater(new AuditEntry
        {
            Kind = AuditKinds.Admin, Actor = caller.Actor, Subject = "console add-peer " + peer.Id,
            Decision = notApplied.Count == 0 ? "applied" : "saved-not-applied",
            Reason = $"{reason}; root pinned {peer.RootPin}, address {peer.Address}, TLP ceiling {peer.Outbound.TlpCeiling}" + (notApplied.Count == 0 ? "" : "; " + string.Join("; ", notApplied)),
        });
        var html = new ConsoleHtml();
        html.Element("p", $"added peer {peer.Id} at {peer.Address}, root pinned {peer.RootPin}", "ok notice").Element("pre", (output + error.ToString()).Trim()).Link("/peers", "back to peers");
        return Page(context, "Peer added", html);
    }

    private static async Task<PeerAddRequest> ReadPeerRequestAsync(HttpContext context, string? pin)
    {
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false) : null;
        var ceiling = form?["tlpCeiling"].ToString().Trim() ?? "";
        return new PeerAddRequest
        {
            Id = form?["id"].ToString().Trim() ?? "",
            Address = form?["address"].ToString().Trim() ?? "",
            Fetch = true,
            Pin = pin,
            TlpCeiling = ceiling.Length == 0 ? "AMBER" : ceiling,
        };
    }

    private static void AddPeerForm(ConsoleHtml html, string token, bool enabled)
    {
        html.Raw("<section id=\"add-peer\"><h2>Add a peer</h2>");
        html.Element("p", "As 'peers add --fetch --pin': the console connects to the peer with this node's gateway certificate, reads the root from its signed trust bundle " +
            "and shows its fingerprint; you then type the fingerprint the peer's operator gave you out of band, and the peer is pinned only when they match.", "muted");
        html.Raw("<form method=\"post\" class=\"action\" id=\"add-peer-fetch\" action=\"/peers/add/fetch\">");
        Hidden(html, ConsoleServer.CsrfField, token);
        html.Raw("<input type=\"text\" name=\"id\" required placeholder=\"spiffe://<domain>/gateway/<name>\" aria-label=\"peer id\">")
            .Raw("<input type=\"text\" name=\"address\" required placeholder=\"https://host:port\" aria-label=\"peer address\">")
            .Raw("<select name=\"tlpCeiling\" aria-label=\"TLP ceiling\">");
        foreach (var ceiling in s_ceilings)
        {
            html.Raw("<option").Raw(ceiling == "AMBER" ? " selected" : "").Raw(">").Text(ceiling).Raw("</option>");
        }

        html.Raw("</select><input type=\"text\" name=\"reason\" required maxlength=\"500\" placeholder=\"reason (audited)\" aria-label=\"add-peer reason\">")
            .Raw("<button type=\"submit\"").Raw(enabled ? "" : " disabled").Raw(">Fetch its root</button></form></section>");
    }

    private static void Hidden(ConsoleHtml html, string name, string value) =>
        html.Raw("<input type=\"hidden\" name=\"").Text(name).Raw("\" value=\"").Text(value).Raw("\">");
}
