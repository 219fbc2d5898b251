using System.Security.Cryptography.X509Certificates;
using CyberCoop.Crypto;
using Grpc.Core;

namespace CyberCoop.Gateway.Streaming;

/// <summary>
/// One open inbound stream and the certificate its caller authenticated with. It is cut (once) when the
/// trust state no longer admits the caller; the service notices at its next read, so whatever was
/// already acknowledged stays committed and nothing unacknowledged is acknowledged afterwards.
/// </summary>
internal sealed class LiveStream : IDisposable
{
    private readonly LiveStreamRegistry _registry;
    private readonly CancellationTokenSource _cut = new();
    private string? _cutReason;
    private TrustState? _checkedAgainst;

    internal LiveStream(LiveStreamRegistry registry, ServerCallContext context, SpiffeId caller, LiveCallerKind kind, X509Certificate2 certificate, string connectionId)
    {
        _registry = registry;
        Context = context;
        Caller = caller;
        CallerText = caller.ToString();
        Kind = kind;
        Certificate = certificate;
        Serial = certificate.SerialNumber.ToUpperInvariant();
        NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        ConnectionId = connectionId;
    }

    /// <summary>The call this stream belongs to.</summary>
    public ServerCallContext Context { get; }

    /// <summary>The caller's SPIFFE id.</summary>
    public SpiffeId Caller { get; }

    /// <summary>The caller's SPIFFE id as text.</summary>
    public string CallerText { get; }

    /// <summary>What the caller was admitted as.</summary>
    public LiveCallerKind Kind { get; }

    /// <summary>The client certificate presented in the TLS handshake.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate's serial, upper-case hex.</summary>
    public string Serial { get; }

    /// <summary>When the certificate expires.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>The Kestrel connection the stream runs on.</summary>
    public string ConnectionId { get; }

    /// <summary>Cancelled when the stream is cut.</summary>
    public CancellationToken CutToken => _cut.Token;

    /// <summary>Why the stream was cut, or null while it may continue.</summary>
    public string? CutReason => Volatile.Read(ref _cutReason);

    /// <summary>Cuts the stream; returns false when it was already cut.</summary>
    internal bool TryCut(string reason)
    {
        if (Interlocked.CompareExchange(ref _cutReason, reason, null) is not null)
        {
            return false;
        }

        try
        {
            _cut.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The stream ended meanwhile.
        }

        return true;
    }

    /// <summary>
    /// Called before each incoming message is processed: re-checks the caller when the trust snapshot changed since
    /// the last check (a reference comparison otherwise) and throws PermissionDenied when the stream was cut.
    /// </summary>
    public void ThrowIfNotAllowed()
    {
        var trust = _registry.CurrentTrust;
        if (!ReferenceEquals(trust, _checkedAgainst))
        {
            _checkedAgainst = trust;
            if (LiveStreamRegistry.Check(trust, this) is { } reason)
            {
                _registry.Cut(this, reason);
            }
        }

        if (CutReason is { } cut)
        {
            _registry.Refuse(this, cut);
        }
    }

    /// <summary>Wraps the request stream so every read honours the cut.</summary>
    public IAsyncStreamReader<T> Guard<T>(IAsyncStreamReader<T> requestStream) => new GuardedStreamReader<T>(requestStream, this);

    public void Dispose()
    {
        _registry.Remove(this);
        _cut.Dispose();
    }
}
