using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Federation;

/// <summary>
/// Builds this node's signed trust bundle: its domain root, the serials its domain revoked, and its
/// key announcement. Rebuilt on every config change so revocations are served at once.
/// </summary>
internal sealed class TrustBundlePublisher
{
    private readonly GatewayRuntime _runtime;
    private readonly Lock _gate = new();
    private SignedTrustBundle _current;
    private ulong _sequence;

    public TrustBundlePublisher(GatewayRuntime runtime)
    {
        _runtime = runtime;
        _current = Build();
        runtime.TrustChanged += (_, _) => Rebuild();
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

    /// <summary>Rebuilds the bundle (after a reload or key rotation).</summary>
    public void Rebuild()
    {
        var next = Build();
        lock (_gate)
        {
            _current = next;
        }
    }

    private SignedTrustBundle Build()
    {
        var now = _runtime.Time.GetUtcNow();
        var node = _runtime.Trust.Config.Config.Node;
        lock (_gate)
        {
            // Strictly increasing across restarts: milliseconds since the epoch, bumped if the clock stalls.
            _sequence = Math.Max(_sequence + 1, (ulong)now.ToUnixTimeMilliseconds());
        }

        var bundle = new TrustBundle
        {
            TrustDomain = node.TrustDomain,
            Sequence = _sequence,
            IssuedAt = Timestamp.FromDateTimeOffset(now),
            ExpiresAt = Timestamp.FromDateTimeOffset(now.AddDays(1)),
            RefreshHintSeconds = (uint)node.TrustBundleRefreshSeconds,
        };
        bundle.RootCertificates.Add(ByteString.CopyFrom(_runtime.Identity.Root.RawData));
        bundle.RevokedSerials.Add(node.RevokedSerials.Select(s => s.ToUpperInvariant()));
        bundle.KeyAnnouncements.Add(_runtime.Identity.CreateAnnouncement(_runtime.Time));
        var bytes = bundle.ToByteArray();
        return new SignedTrustBundle
        {
            Bundle = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(IdentitySignatures.Sign(SignaturePurpose.TrustBundle, bytes, _runtime.Identity.Certificate)),
            SignerCertificate = ByteString.CopyFrom(_runtime.Identity.Certificate.RawData),
        };
    }
}
