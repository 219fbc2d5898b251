using System.Net.Sockets;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A real gateway process under a low open-file limit (RLIMIT_NOFILE) flooded with connections until it has no
/// descriptor left: it stays up, its established peer stream keeps delivering, and once the flood ends it accepts
/// new callers again. Nothing acknowledged is lost.
/// </summary>
[Collection(nameof(NetworkFaultTests))]
public sealed class FileDescriptorExhaustionTests : IAsyncLifetime
{
    private const int OpenFileLimit = 512;
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f.WriteConfigs();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_node_out_of_file_descriptors_stays_up_and_accepts_callers_again_when_the_flood_ends()
    {
        await using var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port, OpenFileLimit);
        await using var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        var sent = new HashSet<string>(StringComparer.Ordinal);
        sent.UnionWith(await IngestAsync("ee", "before", 200));
        await _f.WaitForStoredCountAsync("fi", sent.Count, TimeSpan.FromSeconds(90), () => ee.Output + fi.Output);

        // The flood: plain TCP connections that never start TLS, held open and topped up until the node has no
        // descriptor left. Topped up because the node closes each one when its TLS handshake times out (10 s), and on
        // a loaded machine the first few hundred may not be accepted within that time.
        var flood = new List<TcpClient>();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (OpenDescriptors(fi) < OpenFileLimit - 8)
            {
                Assert.True(DateTime.UtcNow < deadline, $"fi never ran out of file descriptors (limit {OpenFileLimit}, {OpenDescriptors(fi)} open after {flood.Count} connections)");
                for (var i = 0; i < 64; i++)
                {
                    var client = new TcpClient();
                    flood.Add(client);
                    try
                    {
                        using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                        await client.ConnectAsync("127.0.0.1", _f["fi"].Port, connect.Token);
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException)
                    {
                        // The listen backlog is full: the node has not accepted what is queued yet.
                    }
                }
            }

            // Exhausted: the node is up, and ee's established stream still delivers.
            sent.UnionWith(await IngestAsync("ee", "during", 300));
            await _f.WaitForStoredCountAsync("fi", sent.Count, TimeSpan.FromSeconds(90), () => ee.Output + fi.Output);
            Assert.False(fi.HasExited, fi.Output);
        }
        finally
        {
            foreach (var client in flood)
            {
                client.Dispose();
            }
        }

        // The flood is over: a new caller (an agent of fi, on a new connection) is served again.
        var agentIds = new HashSet<string>(StringComparer.Ordinal);
        await WaitUntilAsync(async () =>
        {
            try
            {
                agentIds.UnionWith(await IngestAsync("fi", "after", 50, TimeSpan.FromSeconds(5)));
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, "fi accepts a new agent connection after the flood", TimeSpan.FromSeconds(60));
        Assert.Equal(50, agentIds.Count);
        Assert.False(fi.HasExited, fi.Output);

        sent.UnionWith(await IngestAsync("ee", "after-flood", 100));
        await _f.WaitForStoredCountAsync("fi", sent.Count + agentIds.Count, TimeSpan.FromSeconds(90), () => ee.Output + fi.Output);
    }

    private static int OpenDescriptors(ChildProcess process)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{process.Id}/fd").Length;
        }
        catch (IOException)
        {
            return 0; // a descriptor closed while the folder was read: read again on the next poll
        }
    }

    private Task<HashSet<string>> IngestAsync(string code, string prefix, int count, TimeSpan? deadline = null)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8(prefix) };
        for (var i = 0; i < count; i++)
        {
            batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{i}.{code}.fd.example"));
        }

        return _f.IngestAcceptedAsync(code, [batch], deadline ?? TimeSpan.FromSeconds(60));
    }
}
