using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Storage;
using Grpc.Core;

namespace CyberCoop.Gateway.Admin;

/// <summary>
/// Operator API, served only on the Unix admin socket (mode 0600): live status and config reload.
/// Every call is audited.
/// </summary>
internal sealed class AdminService(NodeStatusReport statusReport, ConfigReloader reloader, IAuditSink auditSink, CallerAuthorization authorization) : Contracts.V1.Admin.AdminBase
{
    public override async Task<NodeStatus> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        authorization.RequireAdminSocket(context);
        var status = await statusReport.BuildAsync(context.CancellationToken).ConfigureAwait(false);
        auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = "admin-socket", Subject = "GetStatus", Decision = "served", Reason = "" });
        return status;
    }

    public override Task<ReloadConfigResponse> ReloadConfig(ReloadConfigRequest request, ServerCallContext context)
    {
        authorization.RequireAdminSocket(context);
        var (applied, messages) = reloader.Reload();
        var response = new ReloadConfigResponse { Applied = applied };
        response.Messages.Add(messages);
        auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = "admin-socket", Subject = "ReloadConfig", Decision = applied ? "applied" : "refused", Reason = string.Join("; ", messages) });
        return Task.FromResult(response);
    }
}
