using System.Data.Common;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// One write waiting for the database's group commit (<see cref="SqliteDatabase.WriteAsync{T}"/>). It is either
/// cancelled before it starts (then nothing of it is written) or it runs and completes only after the transaction that
/// holds it committed.
/// </summary>
internal abstract class PendingWrite
{
    private const int Queued = 0;
    private const int Started = 1;
    private const int Cancelled = 2;

    private int _state;

    /// <summary>Claims the write for the writer; false when its caller cancelled it first.</summary>
    public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;

    /// <summary>Withdraws the write before the writer started it; false when it has started (it then completes normally).</summary>
    protected bool TryWithdraw() => Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued;

    /// <summary>Runs the work inside the group's transaction (on the writer).</summary>
    public abstract void Run(DbConnection connection, DbTransaction transaction);

    /// <summary>The group committed: completes the caller with the work's result.</summary>
    public abstract void Committed();

    /// <summary>The work or the group's commit failed: nothing of this write is in the database.</summary>
    public abstract void Fail(Exception error);

    /// <summary>After a group's transaction: every write that did not fail alone completes as committed, or with <paramref name="error"/> when the commit failed.</summary>
    public static void Complete(List<PendingWrite> group, bool[] failedAlone, Exception? error)
    {
        for (var i = 0; i < group.Count; i++)
        {
            if (failedAlone[i])
            {
                continue;
            }

            if (error is null)
            {
                group[i].Committed();
            }
            else
            {
                group[i].Fail(error);
            }
        }
    }
}

/// <summary>A write returning <typeparamref name="T"/>.</summary>
internal sealed class PendingWrite<T> : PendingWrite
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<DbConnection, DbTransaction, T> _work;
    private readonly CancellationTokenRegistration _registration;
    private T? _result;

    public PendingWrite(Func<DbConnection, DbTransaction, T> work, CancellationToken ct)
    {
        _work = work;
        if (ct.CanBeCanceled)
        {
            _registration = ct.UnsafeRegister(static (state, token) =>
            {
                var self = (PendingWrite<T>)state!;
                if (self.TryWithdraw())
                {
                    self._completion.TrySetCanceled(token);
                }
            }, this);
        }
    }

    /// <summary>Completes after the commit (or with the failure, or cancelled before it started).</summary>
    public Task<T> Task => _completion.Task;

    public override void Run(DbConnection connection, DbTransaction transaction) => _result = _work(connection, transaction);

    public override void Committed()
    {
        _registration.Dispose();
        _completion.TrySetResult(_result!);
    }

    public override void Fail(Exception error)
    {
        _registration.Dispose();
        _completion.TrySetException(error);
    }
}
