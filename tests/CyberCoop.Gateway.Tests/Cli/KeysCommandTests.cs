using System.Text.Json;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary><c>keys rotate</c> (scheduled and <c>--now</c>) and <c>keys list</c>, with and without a running node, and bad input.</summary>
public sealed class KeysCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly DevNode _node;

    public KeysCommandTests()
    {
        _node = DevFederationFixture.Create(_temp.Path).Nodes[0];
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    private string KeysDirectory => Path.Combine(_node.Directory, "keys");

    private void CreateKeys()
    {
        using var identity = NodeIdentity.Load(GatewayConfigFile.Load(_node.ConfigPath), TimeProvider.System);
    }

    [Fact]
    public async Task Rotate_without_a_running_node_schedules_pending_keys_that_list_shows_with_their_times()
    {
        CreateKeys();
        var before = DateTimeOffset.UtcNow;

        var rotate = await CliRun.RunAsync("keys", "rotate", "--config", _node.ConfigPath);

        Assert.Equal(0, rotate.ExitCode);
        Assert.Contains("scheduled: new keys are announced now and become active at ", rotate.Output, StringComparison.Ordinal);
        Assert.Contains("(3 x the trust bundle's 300 s refresh hint)", rotate.Output, StringComparison.Ordinal);
        Assert.Contains("no gateway is running: the new keys are announced at its next start", rotate.Output, StringComparison.Ordinal);
        var pending = Directory.GetFiles(Path.Combine(KeysDirectory, "pending"));
        Assert.Equal(4, pending.Length);
        var scheduled = ContentKeyStore.Scan(KeysDirectory, TimeSpan.FromDays(7)).Where(k => k.Folder == ContentKeyState.Pending).ToList();
        Assert.All(scheduled, k => Assert.InRange(k.NotBefore, before.AddSeconds(899), DateTimeOffset.UtcNow.AddSeconds(901)));

        var list = await CliRun.RunAsync("keys", "list", "--config", _node.ConfigPath);

        Assert.Equal(0, list.ExitCode);
        var lines = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("key id", lines[0], StringComparison.Ordinal);
        Assert.Equal(4, lines.Count(l => l.Contains(" pending ", StringComparison.Ordinal)));
        Assert.Equal(4, lines.Count(l => l.Contains(" active ", StringComparison.Ordinal)));
        var notBefore = scheduled[0].NotBefore.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(lines.Where(l => l.Contains(" pending ", StringComparison.Ordinal)), l => Assert.Contains(notBefore, l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("hybrid", StringComparison.Ordinal) && l.Contains("kem", StringComparison.Ordinal) && l.Contains("pending", StringComparison.Ordinal));

        var asJson = await CliRun.RunAsync("keys", "list", "--config", _node.ConfigPath, "--json");
        Assert.Equal(0, asJson.ExitCode);
        using var document = JsonDocument.Parse(asJson.Output);
        var keys = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(8, keys.Count);
        var pendingKem = keys.Single(k => k.GetProperty("state").GetString() == "pending" && k.GetProperty("kind").GetString() == "kem" && k.GetProperty("suite").GetString() == "hybrid");
        Assert.Equal(scheduled[0].NotBefore, pendingKem.GetProperty("notBefore").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, pendingKem.GetProperty("notAfter").ValueKind);
        Assert.Equal(32, pendingKem.GetProperty("keyId").GetString()!.Length);
        var activeKem = keys.Single(k => k.GetProperty("state").GetString() == "active" && k.GetProperty("kind").GetString() == "kem" && k.GetProperty("suite").GetString() == "hybrid");
        Assert.Equal(scheduled[0].NotBefore + TimeSpan.FromDays(7), activeKem.GetProperty("notAfter").GetDateTimeOffset());
    }

    [Fact]
    public async Task Rotate_against_a_running_node_announces_pending_keys_status_shows_the_activation_and_now_replaces_at_once()
    {
        await using var node = await GatewayNode.StartAsync(
            _node.ConfigPath,
            new GatewayNodeOptions { ConfigureLogging = logging => logging.ClearProviders() },
            TestContext.Current.CancellationToken);
        var oldSigning = node.Runtime.Identity.SigningKey(Contracts.V1.Suite.X25519Aes256GcmEd25519).PublicKey.KeyIdHex;

        var rotate = await CliRun.RunAsync("keys", "rotate", "--config", _node.ConfigPath);

        Assert.Equal(0, rotate.ExitCode);
        Assert.Contains("reloaded: ", rotate.Output, StringComparison.Ordinal);
        var activation = node.Runtime.Identity.PendingActivation();
        Assert.NotNull(activation);
        Assert.Contains($"new content keys announced, active at {activation.Value:u}", rotate.Output, StringComparison.Ordinal);
        Assert.Equal(oldSigning, node.Runtime.Identity.SigningKey(Contracts.V1.Suite.X25519Aes256GcmEd25519).PublicKey.KeyIdHex);
        var status = await CliRun.RunAsync("status", "--config", _node.ConfigPath, "--json");
        using (var json = JsonDocument.Parse(status.Output))
        {
            Assert.Equal(activation.Value, json.RootElement.GetProperty("contentKeysPendingActivation").GetDateTimeOffset());
        }

        var text = await CliRun.RunAsync("status", "--config", _node.ConfigPath);
        Assert.Contains("content keys        rotation pending: new keys active at ", text.Output, StringComparison.Ordinal);

        var again = await CliRun.RunAsync("keys", "rotate", "--config", _node.ConfigPath);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("a rotation is already scheduled", again.Error, StringComparison.Ordinal);

        var now = await CliRun.RunAsync("keys", "rotate", "--config", _node.ConfigPath, "--now");
        Assert.Equal(0, now.ExitCode);
        Assert.Contains("EMERGENCY rotation", now.Output, StringComparison.Ordinal);
        Assert.Contains("reloaded: ", now.Output, StringComparison.Ordinal);
        Assert.Null(node.Runtime.Identity.PendingActivation());
        Assert.NotEqual(oldSigning, node.Runtime.Identity.SigningKey(Contracts.V1.Suite.X25519Aes256GcmEd25519).PublicKey.KeyIdHex);
        var list = await CliRun.RunAsync("keys", "show", "--config", _node.ConfigPath);
        Assert.Equal(4, list.Output.Split('\n').Count(l => l.Contains("retired (withdrawn)", StringComparison.Ordinal)));
        Assert.DoesNotContain(" pending ", list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_activation_is_three_refresh_hints_of_the_domains_signed_trust_bundle_ahead()
    {
        CreateKeys();
        var sign = await CliRun.RunAsync("certs", "bundle", "sign", "--ca-dir", Path.GetDirectoryName(_node.RootKey)!, "--refresh-seconds", "60", "--config", _node.ConfigPath);
        Assert.True(sign.ExitCode == 0, sign.ToString());
        var before = DateTimeOffset.UtcNow;

        var rotate = await CliRun.RunAsync("keys", "rotate", "--config", _node.ConfigPath);

        Assert.True(rotate.ExitCode == 0, rotate.ToString());
        Assert.Contains("(3 x the trust bundle's 60 s refresh hint)", rotate.Output, StringComparison.Ordinal);
        var pending = ContentKeyStore.Scan(KeysDirectory, TimeSpan.FromDays(7)).Where(k => k.Folder == ContentKeyState.Pending).ToList();
        Assert.NotEmpty(pending);
        Assert.All(pending, k => Assert.InRange(k.NotBefore, before.AddSeconds(179), DateTimeOffset.UtcNow.AddSeconds(181)));
    }

    [Theory]
    [InlineData("keys", "rotate")]
    [InlineData("keys", "list")]
    [InlineData("keys", "rotate", "--config", "gateway.json", "--soon")]
    [InlineData("keys", "rotate", "--config", "gateway.json", "--now", "extra")]
    [InlineData("keys", "list", "--config", "gateway.json", "--now")]
    public async Task Bad_flags_are_usage_errors(params string[] args)
    {
        var result = await CliRun.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.NotEmpty(result.Error);
    }

    [Theory]
    [InlineData("rotate")]
    [InlineData("list")]
    public async Task A_node_that_never_started_has_no_keys_folder_and_says_so(string verb)
    {
        var result = await CliRun.RunAsync("keys", verb, "--config", _node.ConfigPath);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no keys folder at", result.Error, StringComparison.Ordinal);
        Assert.Contains("node.keysDirectory", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_config_file_is_named()
    {
        var missing = Path.Combine(_temp.Path, "nowhere.json");

        var result = await CliRun.RunAsync("keys", "list", "--config", missing);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("nowhere.json", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupt_key_file_is_named_by_list()
    {
        CreateKeys();
        File.WriteAllText(Path.Combine(KeysDirectory, "kem-classic.key"), "garbage");

        var result = await CliRun.RunAsync("keys", "list", "--config", _node.ConfigPath);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("kem-classic.key", result.Error, StringComparison.Ordinal);
    }
}
