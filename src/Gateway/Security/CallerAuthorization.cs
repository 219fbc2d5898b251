using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using Grpc.Core;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Security;

/// <summary>
/// Authorization by SPIFFE id. The TLS handshake has already validated the client chain against
/// the pinned roots; here the chain is checked again against the current trust state (revocations
/// may have arrived since the stream opened) and the identity kind is matched to the service:
/// Ingest for agents of the own domain, Federation for configured peer gateways, Admin only over
/// the Unix socket. Every denial is counted, logged and audited with the caller's id.
/// A chain that validated is remembered for its TLS connection (keyed by the connection's client certificate
/// object, which every stream of one connection shares) until the trust snapshot is replaced, the leaf expires or
/// <see cref="ReuseFor"/> passes, whichever comes first: a caller opening many streams on one connection costs one chain
/// build, not one per stream, and a revocation or reload still applies to the very next call.
/// </summary>
internal sealed class CallerAuthorization(ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time, IAuditSink auditSink, ILogger<CallerAuthorization> logger)
{
    /// <summary>How long a validated chain is reused on its connection under an unchanged trust snapshot.</summary>
    public static readonly TimeSpan ReuseFor = TimeSpan.FromSeconds(10);

    private readonly ConditionalWeakTable<X509Certificate2, ValidatedChain> _validated = [];
    private long _chainsBuilt;

    /// <summary>Chains built (not answered from the per-connection memory) since start.</summary>
    public long ChainsBuilt => Interlocked.Read(ref _chainsBuilt);

    /// <summary>Returns the calling agent of the own domain, or throws PermissionDenied.</summary>
    public SpiffeId RequireAgent(ServerCallContext context)
    {
        var id = RequireTlsIdentity(context);
        if (id.Kind != WorkloadKind.Agent || id.TrustDomain != nodeIdentity.Current.Id.TrustDomain)
        {
            Deny(context, id.ToString(), "only agents of this node's own trust domain may call Ingest");
        }

        return id;
    }

    /// <summary>Returns the calling configured peer gateway, or throws PermissionDenied.</summary>
    public PeerSettings RequirePeer(ServerCallContext context)
    {
        var id = RequireTlsIdentity(context);
        if (id.Kind == WorkloadKind.Gateway && trustSnapshot.Current.Peers.TryGetValue(id.ToString(), out var peer))
        {
            return peer;
        }

        Deny(context, id.ToString(), "only configured peer gateways may call Federation");
        return null!;
    }

    /// <summary>
    /// Returns a caller allowed to read this node's trust bundle, or throws PermissionDenied: any gateway whose
    /// certificate is valid under a pinned root, or, on first contact, a well-formed gateway certificate of a trust
    /// domain not pinned here (the bundle is public and self-authenticating; see <see cref="FirstContact"/>).
    /// </summary>
    public SpiffeId RequireBundleReader(ServerCallContext context)
    {
        var certificate = RequireClientCertificate(context);
        var result = Validate(certificate);
        if (result.IsValid && result.Id is { Kind: WorkloadKind.Gateway } gateway)
        {
            return gateway;
        }

        // node.firstContact is read from the current trust state: a reload that turns it off also refuses the next call on a
        // first-contact connection opened before (the handshake check alone would let it read until its lifetime ends).
        if (trustSnapshot.Current.Config.Config.Node.FirstContact && FirstContact.Admits(result))
        {
            var caller = result.Id!.Value;
            LiveStreamLog.FirstContactServed(logger, caller.ToString());
            auditSink.AuditLater(new Storage.AuditEntry
            {
                Kind = Storage.AuditKinds.FirstContact,
                Actor = caller.ToString(),
                Subject = context.Method,
                Decision = "served",
                Reason = $"trust domain {caller.TrustDomain} is not pinned here; the public trust bundle was served",
            });
            return caller;
        }

        Deny(context, result.Id?.ToString() ?? certificate.Subject, result.IsValid ? "only gateways may read the trust bundle" : result.Reason);
        return default;
    }

    /// <summary>Throws PermissionDenied unless the call arrived on the Unix admin socket.</summary>
    public void RequireAdminSocket(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        // Only the Unix socket: not TLS, and not the plain-HTTP metrics listener either.
        if (http.Features.Get<ITlsHandshakeFeature>() is not null || http.Connection.ClientCertificate is not null
            || http.Connection.LocalIpAddress is not null)
        {
            Deny(context, http.Connection.RemoteIpAddress?.ToString() ?? "tcp", "Admin is served only on the Unix admin socket");
        }
    }

    /// <summary>The client certificate of a mutual-TLS call, or PermissionDenied (the admin socket has none).</summary>
    private X509Certificate2 RequireClientCertificate(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var certificate = http.Connection.ClientCertificate;
        if (http.Features.Get<ITlsHandshakeFeature>() is null || certificate is null)
        {
            Deny(context, "unix-socket", "this service requires a mutual-TLS connection");
        }

        return certificate;
    }

    private SpiffeId RequireTlsIdentity(ServerCallContext context)
    {
        var certificate = RequireClientCertificate(context);
        var result = Validate(certificate);
        if (result.IsValid && result.Id is { } id)
        {
            return id;
        }

        Deny(context, certificate.Subject, result.Reason);
        return default;
    }

    /// <summary>The client chain's validation under the current trust snapshot, reused within its connection (see the class).</summary>
    private ChainValidationResult Validate(X509Certificate2 certificate)
    {
        var trust = trustSnapshot.Current;
        var now = time.GetUtcNow();
        if (_validated.TryGetValue(certificate, out var known) && ReferenceEquals(known.Trust, trust) && now < known.ReuseUntil)
        {
            return known.Result;
        }

        Interlocked.Increment(ref _chainsBuilt);
        var result = trust.Validator.Validate(certificate, null, CertificatePurpose.Client);
        if (result.IsValid)
        {
            var leafNotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            var until = now + ReuseFor;
            _validated.AddOrUpdate(certificate, new ValidatedChain(trust, result, until < leafNotAfter ? until : leafNotAfter));
        }

        return result;
    }

    [DoesNotReturn]
    private void Deny(ServerCallContext context, string caller, string reason)
    {
        GatewayLog.CallDenied(logger, context.Method, caller, reason);
        auditSink.RecordDenial(caller, context.Method, reason);
        throw new RpcException(new Status(StatusCode.PermissionDenied, reason));
    }

    private sealed record ValidatedChain(TrustState Trust, ChainValidationResult Result, DateTimeOffset ReuseUntil);
}
