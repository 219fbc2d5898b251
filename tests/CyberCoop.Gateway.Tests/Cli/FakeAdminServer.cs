using CyberCoop.Contracts.V1;
using AdminService = CyberCoop.Contracts.V1.Admin;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>A real gRPC Admin server (Kestrel, HTTP/2) on a Unix domain socket, answering with canned replies.</summary>
internal sealed class FakeAdminServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeAdminServer(WebApplication app, AdminState state)
    {
        _app = app;
        State = state;
    }

    public AdminState State { get; }

    public static async Task<FakeAdminServer> StartAsync(string socketPath)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var state = new AdminState();
        builder.Services.AddSingleton(state);
        var app = builder.Build();
        app.MapGrpcService<FakeAdmin>();
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new FakeAdminServer(app, state);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    internal sealed class AdminState
    {
        public NodeStatus Status { get; set; } = new();

        /// <summary>When true, GetStatus never answers (a call in flight when the caller gives up).</summary>
        public bool HoldStatus { get; set; }

        /// <summary>GetStatus calls received.</summary>
        public int StatusCalls;

        public ReloadConfigResponse Reload { get; set; } = new() { Applied = true };

        public int Reloads { get; set; }

        /// <summary>When set, ReloadConfig fails with this status (a node that did not answer in time, or failed).</summary>
        public Status? ReloadFailure { get; set; }
    }

    private sealed class FakeAdmin(AdminState state) : AdminService.AdminBase
    {
        public override async Task<NodeStatus> GetStatus(GetStatusRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref state.StatusCalls);
            if (state.HoldStatus)
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            return state.Status;
        }

        public override Task<ReloadConfigResponse> ReloadConfig(ReloadConfigRequest request, ServerCallContext context)
        {
            state.Reloads++;
            if (state.ReloadFailure is { } failure)
            {
                throw new RpcException(failure);
            }

            return Task.FromResult(state.Reload);
        }
    }
}
