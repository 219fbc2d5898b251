using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Federation.Tests.Lifecycle;

/// <summary>
/// The three-nation federation of the lifecycle tests: ee -> fi directly (relay allowed), fi relays ee's CLEAR/GREEN
/// content to lv, which pins ee's root only to verify it; lv never talks to ee. So fi is a direct peer of the origin
/// and lv a relay-only node.
/// </summary>
internal static class LifecycleFederation
{
    /// <summary>Creates the nations, peers them and writes the configs (nothing started).</summary>
    public static TestFederation Create()
    {
        var f = TestFederation.Create("ee", "fi", "lv");
        f.Peer("ee", "fi", new OutboundPolicyConfig { TlpCeiling = "AMBER", AllowRelay = true });
        f.Peer("fi", "ee");
        f.Peer("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "GREEN", AllowRelay = true });
        f.Peer("lv", "fi");
        f.TrustOrigin("lv", "ee");
        f.WriteConfigs();
        return f;
    }

    /// <summary>The admin socket of a nation (as the CLI resolves it from the config).</summary>
    public static string AdminSocket(TestFederation f, string code)
    {
        var loaded = GatewayConfigFile.Load(f[code].ConfigPath);
        return loaded.Resolve(loaded.Config.Node.AdminSocket);
    }

    /// <summary>Withdraws over the nation's real admin socket, as <c>indicators withdraw</c> does.</summary>
    public static async Task<WithdrawResponse> WithdrawAsync(TestFederation f, string code, string indicatorId, string reason)
    {
        using var admin = AdminSocketClient.Connect(AdminSocket(f, code));
        return await admin.Lifecycle.WithdrawAsync(new WithdrawRequest { IndicatorId = indicatorId, Reason = reason }, deadline: AdminSocketClient.Deadline);
    }

    /// <summary>Reads a nation's database directly (its gateway process may keep running).</summary>
    public static async Task<T> ReadAsync<T>(TestFederation f, string code, Func<GatewayStore, Task<T>> read)
    {
        await using var store = await GatewayStore.OpenAsync(Path.Combine(f[code].Directory, "gateway.db"), TimeProvider.System, CancellationToken.None);
        return await read(store);
    }

    /// <summary>Every audit entry of a store, oldest first.</summary>
    public static async Task<List<AuditEntry>> AuditAsync(GatewayStore store)
    {
        var list = new List<AuditEntry>();
        await foreach (var entry in store.Audit.TailAsync(100_000, CancellationToken.None))
        {
            list.Add(entry);
        }

        return list;
    }
}
