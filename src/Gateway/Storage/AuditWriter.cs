using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The audit sink for decisions made outside a storage transaction (denied calls, rejected TLS clients, reloads,
/// operator actions): entries are queued without bound and appended to the hash-chained audit log in batches by one
/// writer, in the order they were queued. A batch the database refuses is retried, so while the node runs no entry is
/// dropped.
/// </summary>
internal sealed class AuditWriter : IAuditSink, IAsyncDisposable
{
    /// <summary>First and longest wait before the writer retries a batch the database refused.</summary>
    private static readonly TimeSpan s_retryFirst = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_retryMax = TimeSpan.FromSeconds(5);

    /// <summary>Most entries appended in one transaction.</summary>
    internal const int BatchSize = 500;

    // Unbounded: an entry is never dropped for want of room. Producers are refusals of callers (each costs the caller a TLS
    // handshake or a call, far more than an append) and the writer appends up to 500 per transaction, so the queue stays short.
    private readonly Channel<AuditEntry> _queue = Channel.CreateUnbounded<AuditEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AuditLog _log;
    private readonly NodeMetrics _metrics;
    private readonly CallerActivity _activity;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;
    private long _dropped;
    private long _pending;

    public AuditWriter(AuditLog log, NodeMetrics metrics, CallerActivity activity, TimeProvider time, ILogger<AuditWriter> logger)
    {
        _log = log;
        _metrics = metrics;
        _activity = activity;
        _time = time;
        _logger = logger;
        _writer = Task.Run(WriteAsync);
    }

    /// <inheritdoc />
    public long AuditDropped => Interlocked.Read(ref _dropped);

    /// <inheritdoc />
    public long AuditPending => Interlocked.Read(ref _pending);

    /// <inheritdoc />
    public void AuditLater(AuditEntry entry)
    {
        if (AuditLog.Problem(entry) is { } problem)
        {
            throw new ArgumentException("audit entry cannot be written: " + problem, nameof(entry));
        }

        Interlocked.Increment(ref _pending);
        if (!_queue.Writer.TryWrite(entry))
        {
            // Only after the writer was completed at stop.
            Interlocked.Decrement(ref _pending);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <inheritdoc />
    public void RecordDenial(string caller, string subject, string reason)
    {
        _metrics.AddDenied();
        if (_activity.Rows.TryGetValue(caller, out var known))
        {
            _activity.Failed(caller, known.Kind, $"denied {subject}: {reason}");
        }

        AuditLater(new AuditEntry { Kind = AuditKinds.Denied, Actor = caller, Subject = subject, Decision = "denied", Reason = reason });
    }

    private async Task WriteAsync()
    {
        var batch = new List<AuditEntry>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (batch.Count < BatchSize && _queue.Reader.TryRead(out var entry))
                {
                    batch.Add(entry);
                }

                await AppendUntilWrittenAsync(batch).ConfigureAwait(false);
                Interlocked.Add(ref _pending, -batch.Count);
                batch.Clear();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped before the queue was empty: what is left is counted (and logged at stop), not written.
            var left = batch.Count;
            while (_queue.Reader.TryRead(out _))
            {
                left++;
            }

            Interlocked.Add(ref _dropped, left);
            Interlocked.Add(ref _pending, -left);
        }
    }

    /// <summary>
    /// Appends one batch, retrying with a growing pause while the database refuses it (busy, full, read-only) or cannot be
    /// reached (a PostgreSQL server restarting or in recovery: NpgsqlException is a DbException like SqliteException).
    /// A failed attempt may have committed all the same (the connection broke after PostgreSQL committed, before its reply
    /// arrived): before appending again, the writer looks for the attempt's last entry (seq and hash) in the log, so a
    /// batch is never written twice.
    /// </summary>
    private async Task AppendUntilWrittenAsync(List<AuditEntry> batch)
    {
        var pause = s_retryFirst;
        var attempt = new AuditAppendAttempt();
        while (true)
        {
            try
            {
                if (attempt.LastHash is { } hash && await _log.HoldsAsync(attempt.LastSeq, hash, _stopping.Token).ConfigureAwait(false))
                {
                    GatewayLog.AuditBatchFoundCommitted(_logger, batch.Count, attempt.LastSeq);
                    return;
                }

                await _log.AppendAsync(batch, attempt, _stopping.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or IOException)
            {
                GatewayLog.AuditWriteFailed(_logger, batch.Count, pause, ex);
                await Task.Delay(pause, _time, _stopping.Token).ConfigureAwait(false);
                pause = pause * 2 < s_retryMax ? pause * 2 : s_retryMax;
            }
        }
    }

    /// <summary>Writes what is queued (up to a 5 s grace; the rest is counted as dropped and logged) and stops the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            GatewayLog.AuditUnwrittenAtStop(_logger, AuditDropped);
        }

        _stopping.Dispose();
    }
}
