using System.Net;
using System.Net.Sockets;
using System.Text;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Npgsql;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A PostgreSQL commit whose reply is lost: the server committed, the gateway saw the connection break. The gateway's
/// audit writer retries a batch that failed; before this test it appended the batch a second time, so the log held the
/// same decisions twice (the chain stayed valid). The gateway reaches its server through a proxy that, once the audit
/// entry under test has been sent, passes the next COMMIT to the server, drops the server's answer and resets the
/// connection.
/// </summary>
public sealed class PostgresCommitReplyLossTests : IAsyncDisposable
{
    private TestFederation? _f;
    private PostgresCluster? _cluster;
    private CommitReplyLoss? _proxy;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_audit_batch_whose_commit_reply_was_lost_is_written_once()
    {
        _cluster = await PostgresCluster.StartAsync(
            Path.Combine(Path.GetTempPath(), "cybercoop-pg-reply-" + Guid.NewGuid().ToString("N")[..8]), durable: false);
        await PostgresTestServer.ExecuteAsync(_cluster.ConnectionString, "CREATE DATABASE ee", Ct);
        var marker = "reply-lost-" + Guid.NewGuid().ToString("N")[..12];
        _proxy = CommitReplyLoss.Start(_cluster.Port, Encoding.UTF8.GetBytes(marker));
        _f = TestFederation.Create("ee");
        _f["ee"].Config = _f["ee"].Config with
        {
            Storage = new StorageConfig
            {
                Postgres = new PostgresConfig { ConnectionString = new NpgsqlConnectionStringBuilder(_cluster.ConnectionString) { Port = _proxy.Port, Database = "ee" }.ConnectionString },
            },
            // Read-only: every action is refused, and each refusal is an audit entry queued for the audit writer.
            Console = new ConsoleConfig { Listen = "127.0.0.1:0", LoopbackOnly = true },
        };
        await _f.StartAsync();
        using var console = new HttpClient { BaseAddress = new Uri(_f["ee"].Node!.ConsoleUrl!) };

        // The refusal's entry carries the marker: its commit's reply is the one the proxy loses.
        using (var refused = await console.PostAsync($"/indicators/domain:{marker}.example/suppress", new FormUrlEncodedContent(new Dictionary<string, string> { ["reason"] = "x" }), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        await WaitUntilAsync(() => Task.FromResult(_proxy.Fired), "the proxy lost a commit's reply", TimeSpan.FromSeconds(30));

        // A later entry through the same single writer: once it is in the log, the writer is done with the first batch.
        var after = "after-" + marker;
        using (var refused = await console.PostAsync($"/indicators/domain:{after}.example/suppress", new FormUrlEncodedContent(new Dictionary<string, string> { ["reason"] = "x" }), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        var ee = new NpgsqlConnectionStringBuilder(_cluster.ConnectionString) { Database = "ee" }.ConnectionString;
        await WaitUntilAsync(async () => await CountAsync(ee, $"console suppress domain:{after}.example") == 1, "the later entry is written", TimeSpan.FromSeconds(60));

        Assert.Equal(1, await CountAsync(ee, $"console suppress domain:{marker}.example"));
        var verified = await _f["ee"].Node!.Runtime.Store.Audit.VerifyAsync(null, CancellationToken.None);
        Assert.True(verified.Ok, verified.Problem);
    }

    public async ValueTask DisposeAsync()
    {
        var (f, cluster) = (_f, _cluster);
        (_f, _cluster) = (null, null);
        try
        {
            await TestFederation.DisposeWithClusterAsync(f, cluster);
        }
        finally
        {
            _proxy?.Dispose();
        }
    }

    private static async Task<long> CountAsync(string connectionString, string subject)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM audit WHERE subject = @subject", connection);
        command.Parameters.AddWithValue("@subject", subject);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>
    /// A loopback TCP proxy to a PostgreSQL server. On the first connection whose client sends <c>marker</c>, the next
    /// message holding <c>COMMIT</c> goes to the server; the server's answer is read and dropped, and both sides are
    /// reset. Everything else passes through unchanged.
    /// </summary>
    private sealed class CommitReplyLoss : IDisposable
    {
        private static readonly byte[] s_commit = Encoding.ASCII.GetBytes("COMMIT");
        private readonly TcpListener _listener;
        private readonly int _serverPort;
        private readonly byte[] _marker;
        private readonly CancellationTokenSource _stop = new();
        private int _fired;

        private CommitReplyLoss(TcpListener listener, int serverPort, byte[] marker)
        {
            _listener = listener;
            _serverPort = serverPort;
            _marker = marker;
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Whether a commit's reply was lost.</summary>
        public bool Fired => Volatile.Read(ref _fired) == 2;

        public static CommitReplyLoss Start(int serverPort, byte[] marker)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var proxy = new CommitReplyLoss(listener, serverPort, marker);
            _ = Task.Run(proxy.AcceptAsync);
            return proxy;
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = Task.Run(() => RelayAsync(client));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task RelayAsync(TcpClient client)
        {
            using var server = new TcpClient();
            using (client)
            {
                try
                {
                    await server.ConnectAsync(IPAddress.Loopback, _serverPort, _stop.Token);
                    var dropReply = new TaskCompletionSource();
                    var toServer = PumpToServerAsync(client, server, dropReply);
                    var toClient = PumpToClientAsync(server, client, dropReply.Task);
                    await Task.WhenAny(toServer, toClient);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
                {
                    // The connection ended.
                }
                finally
                {
                    Reset(client);
                    Reset(server);
                }
            }
        }

        private async Task PumpToServerAsync(TcpClient client, TcpClient server, TaskCompletionSource dropReply)
        {
            var buffer = new byte[64 * 1024];
            var seen = new List<byte>();
            var markerSeen = false;
            var from = client.GetStream();
            var to = server.GetStream();
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (Volatile.Read(ref _fired) == 0 || markerSeen)
                {
                    // Look across chunk boundaries: keep the tail of what was sent before.
                    seen.AddRange(buffer.AsSpan(0, read));
                    var bytes = seen.ToArray();
                    var at = markerSeen ? 0 : bytes.AsSpan().IndexOf(_marker);
                    if (!markerSeen && at >= 0 && Interlocked.CompareExchange(ref _fired, 1, 0) == 0)
                    {
                        markerSeen = true;
                        seen.RemoveRange(0, at + _marker.Length);
                        bytes = seen.ToArray();
                        at = 0;
                    }

                    if (markerSeen && bytes.AsSpan(at).IndexOf(s_commit) >= 0)
                    {
                        // The server takes the COMMIT; its answer never reaches the gateway.
                        dropReply.TrySetResult();
                        await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                    }

                    if (seen.Count > 4096)
                    {
                        seen.RemoveRange(0, seen.Count - 256);
                    }
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }

        private async Task PumpToClientAsync(TcpClient server, TcpClient client, Task dropReply)
        {
            var buffer = new byte[64 * 1024];
            var from = server.GetStream();
            var to = client.GetStream();
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (dropReply.IsCompleted)
                {
                    // The COMMIT's answer: dropped, and the connection reset (RelayAsync's finally).
                    Volatile.Write(ref _fired, 2);
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }

        private static void Reset(TcpClient socket)
        {
            try
            {
                socket.Client.LingerState = new LingerOption(true, 0);
                socket.Client.Close();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already closed.
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
