using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Trust;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Key announcements a relay carries for an origin that is not this node's peer: kept only while the origin's
/// certificate is still trusted, and refused (not thrown) when their times are not valid timestamps.
/// </summary>
public sealed class RelayedAnnouncementTests : IAsyncLifetime
{
    private const string Ee = "ee.cybercoop";
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        await _f.StartAsync();
        await WaitUntilAsync(() => Task.FromResult(_f["fi"].Node!.Runtime.Trust.PeerBundles.ContainsKey(Ee)), "fi accepted ee's first bundle");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private PeerKeyDirectory Directory => _f["fi"].Node!.Services.GetRequiredService<PeerKeyDirectory>();

    private static SignedKeyAnnouncement Announce(X509Certificate2 gateway, string node, Timestamp issuedAt, params ContentKey[] keys)
    {
        var announcement = new KeyAnnouncement { Node = node, IssuedAt = issuedAt };
        announcement.Keys.Add(keys);
        var bytes = announcement.ToByteArray();
        var signed = new SignedKeyAnnouncement
        {
            Announcement = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(IdentitySignatures.Sign(SignaturePurpose.KeyAnnouncement, bytes, gateway)),
        };
        signed.CertificateChain.Add(ByteString.CopyFrom(gateway.RawData));
        return signed;
    }

    [Fact]
    public async Task Relayed_announcement_of_a_gateway_revoked_afterwards_is_no_longer_used()
    {
        var id = SpiffeId.Parse($"spiffe://{Ee}/gateway/gw-ee-other");
        using var other = _f["ee"].Ca.Issue(id);
        Assert.Null(Directory.AcceptRelayedAnnouncement(id.ToString(), Announce(other, id.ToString(), Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow))));
        Assert.NotNull(Directory.Find(id.ToString()));
        var revoking = TrustBundleSigner.Sign(
            TrustBundleSigner.Create(Ee, 50, [_f["ee"].Ca.Certificate], [other.SerialNumber.ToUpperInvariant()], DateTimeOffset.UtcNow.AddMinutes(-1), TimeSpan.FromDays(30)),
            [_f["ee"].Ca]);

        var accepted = await Directory.AcceptAsync(Ee, revoking, CancellationToken.None);

        Assert.Null(accepted);
        Assert.Equal(50UL, _f["fi"].Node!.Runtime.Trust.PeerBundles[Ee].Bundle.Sequence);
        Assert.Null(Directory.Find(id.ToString()));
    }

    [Fact]
    public void An_older_relayed_announcement_does_not_replace_a_newer_one()
    {
        var id = SpiffeId.Parse($"spiffe://{Ee}/gateway/gw-ee-relayed");
        using var gateway = _f["ee"].Ca.Issue(id);
        var newer = DateTimeOffset.UtcNow;
        Assert.Null(Directory.AcceptRelayedAnnouncement(id.ToString(), Announce(gateway, id.ToString(), Timestamp.FromDateTimeOffset(newer))));

        var older = Directory.AcceptRelayedAnnouncement(id.ToString(), Announce(gateway, id.ToString(), Timestamp.FromDateTimeOffset(newer.AddHours(-1))));

        Assert.Null(older);
        Assert.Equal(Timestamp.FromDateTimeOffset(newer).ToDateTimeOffset(), Directory.Find(id.ToString())!.IssuedAt);
    }

    [Fact]
    public void Relayed_announcement_with_an_out_of_range_timestamp_is_refused_with_a_reason()
    {
        var id = SpiffeId.Parse($"spiffe://{Ee}/gateway/gw-ee-odd");
        using var odd = _f["ee"].Ca.Issue(id);

        var error = Directory.AcceptRelayedAnnouncement(id.ToString(), Announce(odd, id.ToString(), new Timestamp { Seconds = 1, Nanos = -1 }));

        Assert.NotNull(error);
        Assert.Contains("timestamp", error, StringComparison.Ordinal);
        Assert.Null(Directory.Find(id.ToString()));
    }

    [Fact]
    public void A_key_of_an_algorithm_this_version_does_not_know_is_skipped_and_the_others_are_kept()
    {
        // docs/protocol.md §11: a later suite adds a key algorithm; an older node must keep using the keys it knows.
        var id = SpiffeId.Parse($"spiffe://{Ee}/gateway/gw-ee-newer");
        using var gateway = _f["ee"].Ca.Issue(id);
        using var signing = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var now = DateTimeOffset.UtcNow;
        var known = signing.PublicKey.ToProto();
        known.NotBefore = Timestamp.FromDateTimeOffset(now.AddMinutes(-1));
        known.NotAfter = Timestamp.FromDateTimeOffset(now.AddDays(30));
        var future = new ContentKey
        {
            Algorithm = (KeyAlgorithm)99,
            PublicKey = ByteString.CopyFrom(new byte[48]),
            NotBefore = known.NotBefore,
            NotAfter = known.NotAfter,
        };

        var error = Directory.AcceptRelayedAnnouncement(id.ToString(), Announce(gateway, id.ToString(), Timestamp.FromDateTimeOffset(now), future, known));

        Assert.Null(error);
        var keys = Directory.Find(id.ToString())!.Keys;
        Assert.Single(keys);
        Assert.NotNull(Directory.FindSigningKey(id.ToString(), signing.PublicKey.KeyId));
    }

    [Fact]
    public void A_malformed_key_of_a_known_algorithm_still_refuses_the_announcement()
    {
        var id = SpiffeId.Parse($"spiffe://{Ee}/gateway/gw-ee-broken");
        using var gateway = _f["ee"].Ca.Issue(id);
        var now = DateTimeOffset.UtcNow;
        var broken = new ContentKey
        {
            Algorithm = KeyAlgorithm.Ed25519,
            PublicKey = ByteString.CopyFrom(new byte[31]),
            NotBefore = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
            NotAfter = Timestamp.FromDateTimeOffset(now.AddDays(30)),
        };

        var error = Directory.AcceptRelayedAnnouncement(id.ToString(), Announce(gateway, id.ToString(), Timestamp.FromDateTimeOffset(now), broken));

        Assert.NotNull(error);
        Assert.Contains("unusable key", error, StringComparison.Ordinal);
        Assert.Null(Directory.Find(id.ToString()));
    }
}
