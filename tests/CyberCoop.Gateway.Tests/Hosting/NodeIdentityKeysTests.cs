using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Tests.Cli;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>The node's own content keys by time: which key signs, which keys open, what is announced.</summary>
public sealed class NodeIdentityKeysTests : IDisposable
{
    private const Suite Hybrid = Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65;
    private readonly TempDirectory _dir = new();
    private readonly LoadedConfig _config;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public NodeIdentityKeysTests()
    {
        var node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        _config = GatewayConfigFile.Load(node.ConfigPath);
    }

    private string KeysDirectory => _config.Resolve(_config.Config.Node.KeysDirectory);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_node_signs_with_the_old_key_until_the_not_before_and_with_the_new_one_from_then_on()
    {
        using (NodeIdentity.Load(_config, _time))
        {
            // First start creates the keys.
        }

        var activation = _time.GetUtcNow().AddMinutes(15);
        ContentKeyStore.Schedule(KeysDirectory, _time.GetUtcNow(), activation);
        using var identity = NodeIdentity.Load(_config, _time);
        var oldKey = identity.SigningKey(Hybrid).PublicKey.KeyIdHex;
        var pending = identity.ContentKeys.Single(k => k.Signing is not null && k.Suite == Hybrid && k.File.Folder == ContentKeyState.Pending).PublicKey.KeyIdHex;

        // Content stamped with a time is signed with the key of that time, whatever the clock says a moment later.
        Assert.Equal(pending, identity.SigningKey(Hybrid, activation).PublicKey.KeyIdHex);
        Assert.Equal(oldKey, identity.SigningKey(Hybrid, activation.AddMilliseconds(-1)).PublicKey.KeyIdHex);

        _time.SetUtcNow(activation.AddMilliseconds(-1));
        Assert.Equal(oldKey, identity.SigningKey(Hybrid).PublicKey.KeyIdHex);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(activation.ToUnixTimeMilliseconds()), identity.PendingActivation());

        _time.SetUtcNow(activation);
        Assert.Equal(pending, identity.SigningKey(Hybrid).PublicKey.KeyIdHex);
        Assert.Null(identity.PendingActivation());
    }

    [Fact]
    public void Pending_and_retired_kem_keys_open_and_the_announcement_carries_each_window()
    {
        var start = _time.GetUtcNow();
        using (NodeIdentity.Load(_config, _time))
        {
        }

        var activation = start.AddMinutes(15);
        ContentKeyStore.Schedule(KeysDirectory, start, activation);
        using var identity = NodeIdentity.Load(_config, _time);
        var kems = identity.ContentKeys.Where(k => k.Kem is not null && k.Suite == Hybrid).ToList();

        Assert.All(kems, k => Assert.Same(k, identity.FindKemKey(k.PublicKey.KeyId)));
        Assert.Null(identity.FindKemKey(new byte[16]));
        var announcement = KeyAnnouncement.Parser.ParseFrom(identity.CreateAnnouncement(_time).Announcement);
        var announced = announcement.Keys.Where(k => k.Algorithm == KeyAlgorithm.X25519Mlkem768).ToList();
        Assert.Equal(2, announced.Count);
        Assert.Contains(announced, k => k.NotBefore.ToDateTimeOffset() == DateTimeOffset.FromUnixTimeMilliseconds(activation.ToUnixTimeMilliseconds()));
        Assert.Contains(announced, k => k.NotAfter.ToDateTimeOffset() == DateTimeOffset.FromUnixTimeMilliseconds(activation.ToUnixTimeMilliseconds()) + TimeSpan.FromDays(7));

        // Once the new KEM key is active the old one is no longer announced (it still opens, within its grace).
        _time.SetUtcNow(activation);
        var later = KeyAnnouncement.Parser.ParseFrom(identity.CreateAnnouncement(_time).Announcement);
        Assert.Single(later.Keys, k => k.Algorithm == KeyAlgorithm.X25519Mlkem768);
        Assert.Equal(2, later.Keys.Count(k => k.Algorithm == KeyAlgorithm.Ed25519Mldsa65));
        Assert.All(kems, k => Assert.Same(k, identity.FindKemKey(k.PublicKey.KeyId)));
    }

    [Fact]
    public void After_an_emergency_rotation_the_old_signing_key_is_no_longer_announced_and_old_bundles_are_re_signed()
    {
        using (var first = NodeIdentity.Load(_config, _time))
        {
        }

        using var before = NodeIdentity.Load(_config, _time);
        var old = before.SigningKey(Hybrid).PublicKey;
        _time.Advance(TimeSpan.FromSeconds(5));
        NodeIdentity.RotateKeys(KeysDirectory, _time);
        using var identity = NodeIdentity.Load(_config, _time);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        var announcement = KeyAnnouncement.Parser.ParseFrom(identity.CreateAnnouncement(_time).Announcement);
        Assert.DoesNotContain(announcement.Keys, k => k.KeyId.Span.SequenceEqual(old.KeyId));
        Assert.False(identity.IsAnnouncedSigningKey(old.KeyId));
        Assert.True(identity.IsAnnouncedSigningKey(identity.SigningKey(Hybrid).PublicKey.KeyId));
        Assert.True(identity.ResignBefore() > _time.GetUtcNow().AddSeconds(-1));
        Assert.Equal(DateTimeOffset.MinValue, before.ResignBefore());
    }
}
