using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using Grpc.Core;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// Operator lifecycle actions (withdraw, suppress), served only on the Unix admin socket like Admin. Refusals are
/// answered with the status that tells the operator what to fix, and audited.
/// </summary>
internal sealed class IndicatorAdminService(IAuditSink auditSink, CallerAuthorization authorization, WithdrawalService service)
    : Contracts.V1.IndicatorAdmin.IndicatorAdminBase
{
    public override async Task<WithdrawResponse> Withdraw(WithdrawRequest request, ServerCallContext context)
    {
        authorization.RequireAdminSocket(context);
        try
        {
            var (id, peers) = await service.WithdrawAsync(request.IndicatorId, request.Reason, "admin-socket", context.CancellationToken).ConfigureAwait(false);
            var response = new WithdrawResponse { WithdrawalId = Convert.ToHexStringLower(id) };
            response.Peers.Add(peers);
            return response;
        }
        catch (LifecycleRefusedException ex)
        {
            throw Refused("Withdraw", request.IndicatorId, ex);
        }
    }

    public override async Task<SuppressResponse> Suppress(SuppressRequest request, ServerCallContext context)
    {
        authorization.RequireAdminSocket(context);
        try
        {
            return new SuppressResponse { Changed = await service.SuppressAsync(request.IndicatorId, request.Reason, "admin-socket", context.CancellationToken).ConfigureAwait(false) };
        }
        catch (LifecycleRefusedException ex)
        {
            throw Refused("Suppress", request.IndicatorId, ex);
        }
    }

    private RpcException Refused(string call, string indicatorId, LifecycleRefusedException ex)
    {
        auditSink.AuditLater(new AuditEntry { Kind = AuditKinds.Admin, Actor = "admin-socket", Subject = call + " " + indicatorId, Decision = "refused", Reason = ex.Message });
        return new RpcException(new Status(ex.Code, ex.Message));
    }
}
