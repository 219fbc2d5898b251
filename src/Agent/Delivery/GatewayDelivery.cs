using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Spooling;
using CyberCoop.Contracts.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Agent.Delivery;

/// <summary>
/// Drains the spool into one Ingest.Submit stream: sends the oldest batch, waits for its result,
/// acknowledges it in the spool, and goes on. On any failure the stream is dropped and retried
/// with jittered exponential backoff; the unacknowledged batch is re-sent with the same batch id,
/// which the gateway answers from its first commit (duplicate=true), so each sighting is stored
/// exactly once. A batch the gateway refuses as a whole (InvalidArgument) is moved aside so one
/// bad batch cannot block the queue.
/// </summary>
internal sealed class GatewayDelivery(
    Ingest.IngestClient client,
    Spool spool,
    string gatewayName,
    TimeProvider time,
    ILogger logger,
    AgentTrust? trust = null,
    TrustBundleFollower? follower = null)
{
    private static readonly TimeSpan s_minBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Batches the gateway acknowledged.</summary>
    public long BatchesAcknowledged { get; private set; }

    /// <summary>Sightings the gateway stored (accepted or merged).</summary>
    public long SightingsStored { get; private set; }

    /// <summary>Sightings the gateway rejected.</summary>
    public long SightingsRejected { get; private set; }

    /// <summary>Re-sent batches the gateway had already committed.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // Do not open a stream before there is something to send.
                await spool.PeekAsync(cancellationToken).ConfigureAwait(false);
                using var call = client.Submit(cancellationToken: cancellationToken);
                var announced = false;
                while (true)
                {
                    var record = await spool.PeekAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        await call.RequestStream.WriteAsync(record.Batch, cancellationToken).ConfigureAwait(false);
                        if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                        {
                            throw new IOException("the gateway closed the stream without a result");
                        }
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
                    {
                        var path = spool.DeadLetter(record);
                        AgentLog.BatchDeadLettered(logger, Hex(record), ex.Status.Detail, path);
                        throw;
                    }

                    if (!announced)
                    {
                        AgentLog.Connected(logger, gatewayName);
                        announced = true;
                    }

                    var result = call.ResponseStream.Current;
                    if (!result.BatchId.Equals(record.Batch.BatchId))
                    {
                        throw new IOException("the gateway answered a different batch id");
                    }

                    spool.Acknowledge(record);
                    Account(record, result);
                    failures = 0;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or InvalidOperationException or System.Security.Authentication.AuthenticationException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                // The gateway may present a certificate of a new root after a rotation: follow it at once (the bundle it
                // serves must be signed by a root trusted now) instead of looping on the refused handshake.
                if (follower is not null && await follower.TryFollowRotationAsync(cancellationToken).ConfigureAwait(false))
                {
                    failures = 0;
                    continue;
                }

                var delay = Backoff(failures++);
                AgentLog.DeliveryFailed(logger, gatewayName, (long)delay.TotalMilliseconds, Describe(ex, trust));
                try
                {
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Account(SpoolRecord record, IngestResult result)
    {
        BatchesAcknowledged++;
        int accepted = 0, merged = 0, rejected = 0;
        string? firstReason = null;
        foreach (var item in result.Items)
        {
            switch (item.Outcome)
            {
                case ItemOutcome.Accepted:
                    accepted++;
                    break;
                case ItemOutcome.Merged:
                    merged++;
                    break;
                default:
                    rejected++;
                    firstReason ??= item.Reason;
                    break;
            }
        }

        SightingsStored += accepted + merged;
        SightingsRejected += rejected;
        if (result.Duplicate)
        {
            Duplicates++;
        }

        AgentLog.BatchAcknowledged(logger, Hex(record), accepted, merged, rejected, result.Duplicate ? " (re-send of a committed batch)" : string.Empty);
        if (rejected > 0)
        {
            AgentLog.ItemsRejected(logger, Hex(record), rejected, firstReason ?? "unspecified");
        }
    }

    /// <summary>Full-jitter exponential backoff: uniform in [min, min * 2^failures], capped.</summary>
    internal static TimeSpan Backoff(int failures)
    {
        var ceiling = Math.Min(s_maxBackoff.TotalMilliseconds, s_minBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 16)));
        return TimeSpan.FromMilliseconds(s_minBackoff.TotalMilliseconds + (Random.Shared.NextDouble() * (ceiling - s_minBackoff.TotalMilliseconds)));
    }

    private static string Hex(SpoolRecord record) => Convert.ToHexStringLower(record.Batch.BatchId.Span);

    /// <summary>
    /// One line saying why a call failed; when the TLS handshake failed because the agent refused the gateway's
    /// certificate, the certificate check's own reason (pin, root, identity) is named instead of the transport's.
    /// </summary>
    internal static string Describe(Exception ex, AgentTrust? trust)
    {
        var text = ex switch
        {
            // "Error connecting to subchannel." alone does not say why: name the socket's own reason (connection refused,
            // no route, name not resolved).
            RpcException { Status.DebugException: { } debug } rpc => $"{rpc.StatusCode}: {rpc.Status.Detail.TrimEnd('.')} ({Innermost(debug).Message})",
            RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
            _ => ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message,
        };
        if (trust?.LastRejectionReason is { } reason && HasAuthenticationFailure(ex))
        {
            return $"TLS handshake failed: the gateway's certificate was refused: {reason}";
        }

        return text;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is { } inner)
        {
            ex = inner;
        }

        return ex;
    }

    private static bool HasAuthenticationFailure(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }

            if (ex is RpcException { Status.DebugException: { } debug } && HasAuthenticationFailure(debug))
            {
                return true;
            }
        }

        return false;
    }
}
