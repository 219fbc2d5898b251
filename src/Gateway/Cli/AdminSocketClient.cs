using System.Net.Sockets;
using CyberCoop.Contracts.V1;
using AdminService = CyberCoop.Contracts.V1.Admin;
using Grpc.Core;
using Grpc.Net.Client;

namespace CyberCoop.Gateway.Cli;

/// <summary>
/// Client of a running node's Admin service over its Unix domain socket (never TCP). Possession of
/// the socket (mode 0600) is the authorization.
/// </summary>
internal sealed class AdminSocketClient : IDisposable
{
    /// <summary>Longest Unix socket path the kernel accepts (sun_path is 108 bytes with the terminator).</summary>
    public const int MaxSocketPathBytes = 107;

    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A reload re-reads certificates, keys and trust bundles and cuts revoked streams: more than a status call.</summary>
    private static readonly TimeSpan s_reloadTimeout = TimeSpan.FromSeconds(30);
    private readonly GrpcChannel _channel;

    private AdminSocketClient(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        Client = new AdminService.AdminClient(_channel);
    }

    /// <summary>The socket this client dials.</summary>
    public string SocketPath { get; }

    /// <summary>The generated Admin client.</summary>
    public AdminService.AdminClient Client { get; }

    /// <summary>The generated IndicatorAdmin client (withdraw, suppress) on the same socket.</summary>
    public IndicatorAdmin.IndicatorAdminClient Lifecycle => new(_channel);

    /// <summary>Deadline for one call.</summary>
    public static DateTime Deadline => DateTime.UtcNow + s_callTimeout;

    /// <summary>
    /// A client for the node whose admin socket is <paramref name="socketPath"/>, or a failure saying
    /// that no gateway is running there.
    /// </summary>
    public static AdminSocketClient Connect(string socketPath)
    {
        var full = Path.GetFullPath(socketPath);
        if (System.Text.Encoding.UTF8.GetByteCount(full) > MaxSocketPathBytes)
        {
            throw new CliException($"admin socket path '{full}' is longer than the {MaxSocketPathBytes} bytes a Unix socket allows; set node.adminSocket to a shorter path");
        }

        if (!File.Exists(full))
        {
            throw new CliException(NotRunning(full, "not found"));
        }

        return new AdminSocketClient(full);
    }

    /// <summary>The message for a node that does not answer.</summary>
    public static string NotRunning(string socketPath, string why) =>
        $"no gateway is running (admin socket {socketPath} {why})";

    /// <summary>Maps a failed call to the operator's message: refused or missing sockets mean no node runs.</summary>
    public CliException Explain(RpcException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex.StatusCode switch
        {
            StatusCode.Unavailable => new CliException(NotRunning(SocketPath, "refused")),
            StatusCode.DeadlineExceeded => new CliException($"the gateway at admin socket {SocketPath} did not answer within {s_callTimeout.TotalSeconds:0} s"),
            _ => new CliException($"the gateway at admin socket {SocketPath} answered {ex.StatusCode}: {ex.Status.Detail}"),
        };
    }

    /// <summary>
    /// Asks the node at <paramref name="socketPath"/> to reload its config; null when no node answers
    /// there (socket missing or refused), so the caller can say the change applies at the next start.
    /// </summary>
    public static async Task<ReloadConfigResponse?> TryReloadAsync(string socketPath, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(socketPath);
        if (!File.Exists(full) || System.Text.Encoding.UTF8.GetByteCount(full) > MaxSocketPathBytes)
        {
            return null;
        }

        using var admin = new AdminSocketClient(full);
        try
        {
            return await admin.Client.ReloadConfigAsync(new ReloadConfigRequest(), deadline: DateTime.UtcNow + s_reloadTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
        {
            return null;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            // The files are written already: say so, and how to see whether the node took them.
            throw new CliException($"the change is written, but the gateway at admin socket {full} did not confirm its reload within " +
                                   $"{s_reloadTimeout.TotalSeconds:0} s (a busy node may still apply it; 'gateway status' and the node's log show whether it did, " +
                                   "and a restart applies it)");
        }
        catch (RpcException ex)
        {
            throw admin.Explain(ex);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}
