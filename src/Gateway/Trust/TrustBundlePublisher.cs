using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Trust;

/// <summary>
/// What this node serves on GetTrustBundle: its domain's root-signed bundle (<c>node.trustBundle</c>, exactly as the
/// root signed it; the gateway holds no root key and cannot change it) plus this gateway's own key announcement,
/// signed by its TLS identity. Rebuilt whenever the trust snapshot changes (reload: a newer bundle file, a renewed
/// certificate or rotated content keys).
/// </summary>
internal sealed class TrustBundlePublisher
{
    private readonly ITrustSnapshot _trustSnapshot;
    private readonly INodeIdentitySource _nodeIdentity;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private SignedTrustBundle _current;
    private ulong _sequence;
    private DateTimeOffset _expiresAt;

    public TrustBundlePublisher(ITrustSnapshot trustSnapshot, INodeIdentitySource nodeIdentity, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(trustSnapshot);
        _trustSnapshot = trustSnapshot;
        _nodeIdentity = nodeIdentity;
        _time = time;
        (_current, _sequence, _expiresAt) = Build();
        trustSnapshot.Changed += (_, _) => Rebuild();
    }

    /// <summary>The bundle currently served.</summary>
    public SignedTrustBundle Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Sequence of the bundle currently served.</summary>
    public ulong Sequence
    {
        get
        {
            lock (_gate)
            {
                return _sequence;
            }
        }
    }

    /// <summary>Expiry of the bundle currently served.</summary>
    public DateTimeOffset ExpiresAt
    {
        get
        {
            lock (_gate)
            {
                return _expiresAt;
            }
        }
    }

    /// <summary>Rebuilds what is served (after a reload or key rotation).</summary>
    public void Rebuild()
    {
        var next = Build();
        lock (_gate)
        {
            (_current, _sequence, _expiresAt) = next;
        }
    }

    private (SignedTrustBundle Signed, ulong Sequence, DateTimeOffset ExpiresAt) Build()
    {
        var own = _trustSnapshot.Current.OwnBundle;
        var served = new SignedTrustBundle { Bundle = own.Signed.Bundle };
        served.Signatures.Add(own.Signed.Signatures);
        served.KeyAnnouncements.Add(_nodeIdentity.Current.CreateAnnouncement(_time));
        return (served, own.Sequence, own.ExpiresAt);
    }
}
