using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Grpc.Core;

namespace CyberCoop.Gateway.Streaming;

/// <summary>
/// Serves one bidirectional stream with several requests in flight: while request n waits for its commit (group
/// commit and fsync), requests n+1.. (at most <c>depth</c> unanswered in all) are read and checked. Guarantees:
/// <list type="bullet">
/// <item>responses are written strictly in request order, each only when its own work completed (after its commit or
/// final rejection);</item>
/// <item>commits are enqueued in request order (each request waits for its <see cref="CommitTurn"/>);</item>
/// <item>a request that fails (an exception, not a per-request rejection) ends the stream with that exception once
/// every earlier request was answered; nothing after it is read or answered;</item>
/// <item>when the stream is cut (<see cref="LiveStream"/>: revocation, peer removed), cancelled, or its request
/// stream breaks, no further response is written: work already enqueued may still commit, and the caller, which
/// re-sends everything unanswered, is answered from that commit (duplicate).</item>
/// </list>
/// </summary>
internal static class OrderedStreamPipeline
{
    /// <summary>
    /// Runs the stream until the caller completes its request stream (every request answered) or it fails.
    /// <paramref name="start"/> is called on the reading thread in request order; it may throw for a request that
    /// ends the stream (answered in order as that exception), and returns the request's work: a task completing with
    /// its response, or null when the request is not answered (e.g. a hello). <paramref name="admit"/>, when given, is
    /// awaited on the reading thread before <paramref name="start"/> (a rate limit: while it waits nothing more of the
    /// stream is read); when it throws, that request ends the stream like one whose start threw.
    /// </summary>
    public static async Task RunAsync<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requests,
        IServerStreamWriter<TResponse> responses,
        LiveStream live,
        int depth,
        Func<TRequest, CommitTurn, CancellationToken, Task<TResponse?>> start,
        CancellationToken ct,
        Func<TRequest, CancellationToken, ValueTask>? admit = null)
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(responses);
        ArgumentNullException.ThrowIfNull(live);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);

        // Cancelled on the first failure anywhere, on the caller's cancellation and when the stream is cut.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, live.CutToken);
        using var window = new SemaphoreSlim(depth, depth);
        var queue = Channel.CreateUnbounded<Task<TResponse?>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Exception? firstError = null;
        Exception? readerError = null;

        void Fail(Exception error)
        {
            Interlocked.CompareExchange(ref firstError, error, null);
            try
            {
                stop.Cancel();
            }
            catch (AggregateException)
            {
                // A cancellation callback threw; the pipeline stops either way.
            }
        }

        async Task ReadAsync()
        {
            Task<TResponse?>? unqueued = null;
            try
            {
                Task previousTurn = Task.CompletedTask;
                while (true)
                {
                    await window.WaitAsync(stop.Token).ConfigureAwait(false);
                    if (!await requests.MoveNext(stop.Token).ConfigureAwait(false))
                    {
                        break;
                    }

                    var turn = new CommitTurn(previousTurn);
                    previousTurn = turn.Passed;
                    var last = false;
                    try
                    {
                        if (admit is not null)
                        {
                            await admit(requests.Current, stop.Token).ConfigureAwait(false);
                        }

                        unqueued = start(requests.Current, turn, stop.Token);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException && !(ex is OperationCanceledException && stop.IsCancellationRequested))
                    {
                        unqueued = Task.FromException<TResponse?>(ex);
                        last = true;
                    }

                    // A request that ends without passing its turn (rejected, failed, cancelled) passes it now.
                    _ = unqueued.ContinueWith(static (_, state) => ((CommitTurn)state!).Pass(), turn,
                        CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    if (!queue.Writer.TryWrite(unqueued))
                    {
                        throw new InvalidOperationException("the response queue was closed while reading");
                    }

                    unqueued = null;
                    if (last)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex)
            {
                readerError = ex;
                Fail(ex);
                if (unqueued is not null)
                {
                    await Settle(unqueued).ConfigureAwait(false);
                }
            }
            finally
            {
                queue.Writer.TryComplete();
            }
        }

        var reader = Task.Run(ReadAsync, CancellationToken.None);
        try
        {
            await foreach (var work in queue.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                var response = await work.ConfigureAwait(false);
                if (live.CutReason is not null || stop.IsCancellationRequested)
                {
                    // Cut or failed meanwhile: nothing more is answered.
                    throw new OperationCanceledException(stop.Token);
                }

                if (response is not null)
                {
                    await responses.WriteAsync(response, stop.Token).ConfigureAwait(false);
                }

                window.Release();
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
        finally
        {
            // Never return while work of this stream still runs or the request stream is still read.
            await reader.ConfigureAwait(false);
            while (queue.Reader.TryRead(out var work))
            {
                await Settle(work).ConfigureAwait(false);
            }
        }

        if (firstError is null)
        {
            return;
        }

        if (live.CutReason is not null)
        {
            if (readerError is RpcException { StatusCode: StatusCode.PermissionDenied } refused)
            {
                // The guarded reader already refused (counted and audited) the cut stream.
                ExceptionDispatchInfo.Throw(refused);
            }

            live.ThrowIfNotAllowed();
        }

        ExceptionDispatchInfo.Throw(firstError);
    }

    /// <summary>Waits for work whose response will not be written; its outcome no longer matters.</summary>
    private static async Task Settle(Task work)
    {
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The stream already failed; this request is not answered and its sender re-sends it.
        }
    }
}
