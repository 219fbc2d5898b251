using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Tests.Cli;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>The keys folder: pending keys with their activation time, promotion, the emergency path and the purge of retired KEM keys.</summary>
public sealed class ContentKeyStoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromDays(7);
    private const Suite Classic = Suite.X25519Aes256GcmEd25519;
    private readonly TempDirectory _dir = new();

    public ContentKeyStoreTests()
    {
        using (var signing = SigningKeyPair.Generate(Classic))
        {
            signing.Save(Path.Combine(_dir.Path, "signing-classic.key"));
        }

        using var kem = KemKeyPair.Generate(Classic);
        kem.Save(Path.Combine(_dir.Path, "kem-classic.key"));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Scheduled_keys_are_written_to_pending_with_their_activation_time_and_mode_0600()
    {
        var activation = Now.AddMinutes(15);

        var written = ContentKeyStore.Schedule(_dir.Path, Now, activation);

        Assert.Equal(2, written.Count);
        Assert.All(written, f => Assert.StartsWith(Path.Combine(_dir.Path, "pending", "20261123T121500000Z-"), f, StringComparison.Ordinal));
        Assert.All(written, f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(f)));

        var keys = ContentKeyStore.Scan(_dir.Path, Grace);
        var pending = keys.Where(k => k.Folder == ContentKeyState.Pending).ToList();
        var active = keys.Where(k => k.Folder == ContentKeyState.Active).ToList();
        Assert.Equal(2, pending.Count);
        Assert.All(pending, k => Assert.Equal(activation, k.NotBefore));
        Assert.All(pending, k => Assert.Null(k.NotAfter));
        Assert.All(active, k => Assert.Equal(activation + Grace, k.NotAfter));
        Assert.All(pending, k => Assert.Equal(ContentKeyState.Pending, k.StateAt(Now)));
        Assert.All(pending, k => Assert.Equal(ContentKeyState.Active, k.StateAt(activation)));
        Assert.All(active, k => Assert.Equal(ContentKeyState.Retired, k.StateAt(activation)));
    }

    [Fact]
    public void Pending_keys_are_promoted_only_once_their_time_has_come()
    {
        var activation = Now.AddMinutes(15);
        ContentKeyStore.Schedule(_dir.Path, Now, activation);
        var oldId = KeyId("signing-classic.key");
        var newId = KeyId(Directory.GetFiles(Path.Combine(_dir.Path, "pending"), "*-signing-classic.key").Single());

        Assert.Empty(ContentKeyStore.Promote(_dir.Path, activation.AddMilliseconds(-1)));
        Assert.Equal(oldId, KeyId("signing-classic.key"));

        Assert.Equal(2, ContentKeyStore.Promote(_dir.Path, activation).Count);

        Assert.Equal(newId, KeyId("signing-classic.key"));
        Assert.Equal(oldId, KeyId(Path.Combine("retired", "20261123T121500000Z-signing-classic.key")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir.Path, "pending")));
        var retired = ContentKeyStore.Scan(_dir.Path, Grace).Single(k => k.Folder == ContentKeyState.Retired && k.Kind == ContentKeyKind.Signing);
        Assert.Equal(activation + Grace, retired.NotAfter);
        var active = ContentKeyStore.Scan(_dir.Path, Grace).Single(k => k.Folder == ContentKeyState.Active && k.Kind == ContentKeyKind.Signing);
        Assert.Equal(activation, active.NotBefore);
    }

    [Fact]
    public void A_second_rotation_while_one_is_scheduled_is_refused_and_a_past_activation_is_a_usage_error()
    {
        ContentKeyStore.Schedule(_dir.Path, Now, Now.AddMinutes(15));

        var error = Assert.Throws<InvalidOperationException>(() => ContentKeyStore.Schedule(_dir.Path, Now, Now.AddMinutes(30)));
        Assert.Contains("already scheduled", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ContentKeyStore.Schedule(_dir.Path, Now, Now));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_dir.Path, "pending")).Length);
    }

    [Fact]
    public void Emergency_rotation_withdraws_the_active_keys_destroys_pending_ones_and_activates_fresh_keys()
    {
        ContentKeyStore.Schedule(_dir.Path, Now, Now.AddMinutes(15));
        var oldId = KeyId("signing-classic.key");

        var written = ContentKeyStore.RotateNow(_dir.Path, Now);

        Assert.Equal(2, written.Count);
        Assert.NotEqual(oldId, KeyId("signing-classic.key"));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir.Path, "pending")));
        Assert.Equal(oldId, KeyId(Path.Combine("retired", "20261123T120000000Z-signing-classic-withdrawn.key")));
        var withdrawn = ContentKeyStore.Scan(_dir.Path, Grace).Where(k => k.Folder == ContentKeyState.Retired).ToList();
        Assert.Equal(2, withdrawn.Count);
        Assert.All(withdrawn, k => Assert.True(k.Withdrawn));
        Assert.All(withdrawn, k => Assert.Equal(Now, k.NotAfter));
    }

    [Fact]
    public void Retired_kem_keys_are_destroyed_after_their_grace_and_signing_keys_are_kept()
    {
        ContentKeyStore.Schedule(_dir.Path, Now, Now.AddMinutes(15));
        ContentKeyStore.Promote(_dir.Path, Now.AddMinutes(15));
        var skew = TimeSpan.FromMinutes(2);
        var end = Now.AddMinutes(15) + Grace + skew;

        Assert.Empty(ContentKeyStore.PurgeExpiredKem(_dir.Path, end, Grace, skew));
        var deleted = ContentKeyStore.PurgeExpiredKem(_dir.Path, end.AddSeconds(1), Grace, skew);

        Assert.Equal([Path.Combine(_dir.Path, "retired", "20261123T121500000Z-kem-classic.key")], deleted);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "retired", "20261123T121500000Z-signing-classic.key")));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "kem-classic.key")));
    }

    [Fact]
    public void Retired_files_of_earlier_versions_are_read_and_unrelated_files_ignored()
    {
        var retired = Directory.CreateDirectory(Path.Combine(_dir.Path, "retired")).FullName;
        File.Copy(Path.Combine(_dir.Path, "signing-classic.key"), Path.Combine(retired, "20261101T000000Z-signing-classic.key"));
        File.Copy(Path.Combine(_dir.Path, "kem-classic.key"), Path.Combine(retired, "20261102T030405006-kem-classic.key"));
        File.WriteAllText(Path.Combine(retired, "notes.key"), "not a key");

        var keys = ContentKeyStore.Scan(_dir.Path, Grace).Where(k => k.Folder == ContentKeyState.Retired).OrderBy(k => k.Kind).ToList();

        Assert.Equal(2, keys.Count);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero) + Grace, keys[0].NotAfter);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 3, 4, 5, 6, TimeSpan.Zero) + Grace, keys[1].NotAfter);
    }

    private string KeyId(string file)
    {
        using var key = SigningKeyPair.Load(Path.Combine(_dir.Path, file));
        return key.PublicKey.KeyIdHex;
    }
}
