using CyberCoop.Gateway.Configuration;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// The operator's reload (admin socket, console): re-reads the config file and the own trust bundle, and puts the new
/// trust snapshot (and, when the certificate or content keys changed, the new identity) in force as a whole, or
/// refuses it as a whole and keeps the running config.
/// </summary>
internal sealed class ConfigReloader(
    NodeStartState start, TrustHolder trust, NodeIdentitySource identity, IAuditSink audit, TimeProvider time, ILogger<ConfigReloader> logger)
{
    /// <summary>The config file this node runs from.</summary>
    public string ConfigPath { get; } = start.Config.Path;

    /// <summary>
    /// Re-reads the config file and the own trust bundle and swaps in the new trust snapshot; an invalid file, an
    /// own bundle older than the one in use, or a change under which the node's own certificate would no longer be
    /// trusted is refused as a whole and the running config kept. Returns (applied, messages).
    /// </summary>
    public (bool Applied, IReadOnlyList<string> Messages) Reload()
    {
        TrustState next;
        TrustState previous;
        var identityChanged = false;
        try
        {
            var loaded = GatewayConfigFile.Load(ConfigPath);
            var node = loaded.Config.Node;
            var current = trust.Current.Config.Config.Node;
            var fixedFields = new List<string>();
            if (node.TrustDomain != current.TrustDomain || node.Name != current.Name)
            {
                fixedFields.Add("node.trustDomain/node.name: the node's identity cannot change while it runs; restart instead");
            }

            if (node.Listen != current.Listen || node.Storage != current.Storage || node.AdminSocket != current.AdminSocket
                || node.MetricsListen != current.MetricsListen)
            {
                fixedFields.Add("node.listen/node.storage/node.adminSocket/node.metricsListen: these apply only at start; restart instead");
            }

            if (fixedFields.Count > 0)
            {
                throw new GatewayConfigException(ConfigPath, fixedFields);
            }

            var own = OwnTrustBundle.Load(loaded, time);
            var serving = trust.Current.OwnBundle;
            if (own.Sequence < serving.Sequence || (own.Sequence == serving.Sequence && !own.SameSignedPart(serving)))
            {
                throw new GatewayConfigException(ConfigPath,
                    [$"node.trustBundle: sequence {own.Sequence} is not newer than the bundle in use (sequence {serving.Sequence}); peers would ignore it — re-sign it with 'certs bundle sign'"]);
            }

            var nextIdentity = identity.Current;
            if (NodeIdentity.ComputeFingerprint(loaded) != nextIdentity.Fingerprint)
            {
                // Renewed TLS certificate or rotated content keys: new connections use the certificate at once; content
                // keys are chosen by time at each use (pending keys from their not-before), and retired KEM keys keep
                // opening envelopes that peers sealed before they switched, until their grace ends.
                nextIdentity = NodeIdentity.Load(loaded, time);
                identityChanged = true;
            }

            try
            {
                (previous, next) = trust.Replace(held =>
                {
                    var built = TrustState.Create(loaded, own, held, time);
                    var self = built.Validator.Validate(nextIdentity.Certificate, null, CyberCoop.Crypto.CertificatePurpose.Server);
                    if (!self.IsValid)
                    {
                        throw new GatewayConfigException(ConfigPath,
                            [$"node.trustBundle: the node's own certificate would no longer be trusted under this bundle ({self.Reason}); issue it from a root the bundle lists first"]);
                    }

                    identity.Replace(nextIdentity);
                    return built;
                });
            }
            catch when (identityChanged)
            {
                // The reload is refused as a whole: the identity loaded for it is not used, so its keys are cleared now.
                nextIdentity.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is CyberCoop.Crypto.CryptoFormatException or IOException or System.Security.Cryptography.CryptographicException)
        {
            var error = "node identity: " + ex.Message;
            GatewayLog.ConfigReloadRefused(logger, error);
            audit.AuditLater(new AuditEntry { Kind = AuditKinds.Config, Actor = "operator", Subject = ConfigPath, Decision = "refused", Reason = error });
            return (false, [error]);
        }
        catch (GatewayConfigException ex)
        {
            GatewayLog.ConfigReloadRefused(logger, string.Join("; ", ex.Errors));
            audit.AuditLater(new AuditEntry { Kind = AuditKinds.Config, Actor = "operator", Subject = ConfigPath, Decision = "refused", Reason = string.Join("; ", ex.Errors) });
            return (false, ex.Errors);
        }

        var summary = Summarize(previous, next) + (identityChanged ? "; identity reloaded (certificate or content keys changed)" : "")
            + (identityChanged && identity.Current.PendingActivation() is { } activation ? $"; new content keys announced, active at {activation:u}" : "");
        GatewayLog.ConfigReloaded(logger, summary);
        audit.AuditLater(new AuditEntry { Kind = AuditKinds.Config, Actor = "operator", Subject = ConfigPath, Decision = "applied", Reason = summary });
        trust.Publish(previous, next);
        return (true, [summary]);
    }

    private static string Summarize(TrustState previous, TrustState next)
    {
        var added = next.Peers.Keys.Except(previous.Peers.Keys).ToList();
        var removed = previous.Peers.Keys.Except(next.Peers.Keys).ToList();
        var changed = next.Peers.Where(p => previous.Peers.TryGetValue(p.Key, out var old) && old != p.Value).Select(p => p.Key).ToList();
        return $"{next.Peers.Count} peers; added [{string.Join(", ", added)}]; removed [{string.Join(", ", removed)}]; changed [{string.Join(", ", changed)}]";
    }
}
