namespace CyberCoop.Gateway.Streaming;

/// <summary>
/// The ordering gate of one request in an <see cref="OrderedStreamPipeline"/>: a request whose checks finished early
/// (e.g. because an earlier one waits for a key refresh over the network) still enqueues its commit only after every
/// earlier request of the stream enqueued its own or finished without one. Commits therefore reach the store's group
/// commit in arrival order, and consecutive requests share transactions.
/// </summary>
internal sealed class CommitTurn
{
    private readonly Task _previous;
    private readonly TaskCompletionSource _passed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal CommitTurn(Task previous) => _previous = previous;

    /// <summary>Completes when this request has enqueued its commit or finished (the next request's turn).</summary>
    internal Task Passed => _passed.Task;

    /// <summary>
    /// Completes when it is this request's turn to enqueue its commit. Never faults: an earlier request that failed or
    /// was cancelled passes its turn when it ends.
    /// </summary>
    public Task WaitAsync() => _previous;

    /// <summary>
    /// Waits for this request's turn, enqueues its commit with <paramref name="enqueue"/> (which returns as soon as the
    /// store queued the write) and passes the turn at once, also when <paramref name="enqueue"/> throws. Returns the
    /// commit's own task, to be awaited outside the turn so that later requests can enqueue meanwhile.
    /// </summary>
    public async Task<Task<T>> EnqueueAsync<T>(Func<Task<T>> enqueue)
    {
        ArgumentNullException.ThrowIfNull(enqueue);
        await WaitAsync().ConfigureAwait(false);
        try
        {
            return enqueue();
        }
        finally
        {
            Pass();
        }
    }

    /// <summary>
    /// Marks this request's commit as enqueued (call right after the store call returned its task, in a finally), or
    /// this request as done without a commit: the next request may enqueue its own once every earlier one has passed
    /// too. Idempotent; the pipeline also passes the turn when the request ends.
    /// </summary>
    public void Pass()
    {
        // Never ahead of an earlier request: one that ends early (rejected) passes only once its predecessors have.
        if (_previous.IsCompleted)
        {
            _passed.TrySetResult();
            return;
        }

        _previous.ContinueWith(static (_, state) => ((TaskCompletionSource)state!).TrySetResult(), _passed,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
