using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// How many inbound TCP connections the node holds at once, over all its network listeners together (the mTLS port,
/// the metrics port, the TAXII server and the web console; not the admin socket, which only the operator can reach).
/// The budget is the process's open-file limit (RLIMIT_NOFILE) less the descriptors already open when the node starts
/// (the runtime holds its loaded assemblies open: about 250 for the gateway) and less a reserve for what opens later:
/// outbound peer connections, database connections, assemblies loaded on first use, the runtime's threads and pipes.
/// A connection beyond it is accepted and closed at once, before TLS.
/// <para>
/// Without it a flood of connections that never finish TLS (each held until the 10-second handshake timeout) took
/// every descriptor, and the .NET runtime, which needs one to start a thread, ended the process when its thread pool
/// next grew ("Out of memory.", an OutOfMemoryException from Thread.StartCore). With it the node stays up: the
/// connections it already holds keep working, new callers are refused while the flood lasts and served after it.
/// </para>
/// <para>
/// One source cannot take the whole budget with handshakes it never finishes: on the TLS listeners a source address
/// (an IPv6 source by its /64) holds at most an eighth of the budget (at least 16) in connections whose TLS handshake
/// has not ended; a legitimate caller finishes its handshake in milliseconds and then no longer counts. So a flood
/// from one machine leaves the rest of the budget to everyone else, and new callers are served while it lasts.
/// </para>
/// </summary>
internal sealed partial class ConnectionBudget : IDisposable
{
    /// <summary>Descriptors kept back from the budget: at least this many, or an eighth of the limit when that is more.</summary>
    public const int MinimumReserve = 128;

    private static readonly TimeSpan s_logInterval = TimeSpan.FromMinutes(1);
    private static readonly object s_handshakingKey = new();
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Dictionary<IPAddress, int> _handshaking = [];
    private readonly RefusalLog _fullLog = new();
    private readonly RefusalLog _sourceLog = new();
    private readonly ITimer _flush;
    private volatile string _lastSource = "";
    private long _open;
    private long _refused;

    public ConnectionBudget(long? openFileLimit, int openAtStart, ILogger<ConnectionBudget> log, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(time);
        _log = log;
        _time = time;
        OpenFileLimit = openFileLimit;
        OpenAtStart = openAtStart;
        Capacity = ForLimit(openFileLimit, openAtStart);
        PerSourceHandshakes = openFileLimit is null ? long.MaxValue : PerSource(Capacity);
        // Refusals counted after the last line are reported once a minute even when the flood has ended, so the log
        // tells how many there were in all, not only the counter.
        _flush = time.CreateTimer(_ => FlushRefusals(), null, s_logInterval, s_logInterval);
    }

    public void Dispose() => _flush.Dispose();

    /// <summary>A budget for this process: its open-file limit and the descriptors it has open now.</summary>
    public static ConnectionBudget ForThisProcess(ILogger<ConnectionBudget> log, TimeProvider time) =>
        new(ReadOpenFileLimit(), CountOpenDescriptors(), log, time);

    /// <summary>The open-file limit the budget was derived from; null where it is unknown (no /proc) and the budget unbounded.</summary>
    public long? OpenFileLimit { get; }

    /// <summary>Descriptors the process had open when the budget was set.</summary>
    public int OpenAtStart { get; }

    /// <summary>The most inbound connections held at once.</summary>
    public long Capacity { get; }

    /// <summary>The most connections one source address may hold on a TLS listener before their handshake ends.</summary>
    public long PerSourceHandshakes { get; }

    /// <summary>Inbound connections held now.</summary>
    public long Open => Interlocked.Read(ref _open);

    /// <summary>Connections refused because the budget was full or their source held its share of handshakes, since the node started.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The descriptors kept back for what opens later: max(128, limit / 8).</summary>
    public static long Reserve(long openFileLimit) => Math.Max(MinimumReserve, openFileLimit / 8);

    /// <summary>
    /// The budget for an open-file limit with <paramref name="openAtStart"/> descriptors in use: the limit less those
    /// and less the reserve, at least 16; unbounded when the limit is unknown.
    /// </summary>
    public static long ForLimit(long? openFileLimit, int openAtStart) =>
        openFileLimit is { } limit ? Math.Max(16, limit - openAtStart - Reserve(limit)) : long.MaxValue;

    /// <summary>The share of a budget one source may hold in unfinished TLS handshakes: an eighth, at least 16.</summary>
    public static long PerSource(long capacity) => Math.Max(16, capacity / 8);

    /// <summary>
    /// Connection middleware, first on a listener without TLS (metrics, a loopback-only console): takes a place in the
    /// budget for the life of the connection, or closes it at once when there is none.
    /// </summary>
    public Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next) => HoldAsync(connection, next, tls: false);

    /// <summary>
    /// Connection middleware, first on a TLS listener (before TLS): as <see cref="OnConnectionAsync"/>, and the
    /// connection counts against its source's share of unfinished handshakes until <see cref="OnHandshakeDoneAsync"/>
    /// (placed after TLS) sees it.
    /// </summary>
    public Task OnTlsConnectionAsync(ConnectionContext connection, ConnectionDelegate next) => HoldAsync(connection, next, tls: true);

    /// <summary>Connection middleware right after TLS: the handshake has ended, the connection no longer counts against its source.</summary>
    public Task OnHandshakeDoneAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(next);
        HandshakeEnded(connection);
        return next(connection);
    }

    private async Task HoldAsync(ConnectionContext connection, ConnectionDelegate next, bool tls)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(next);
        if (Interlocked.Increment(ref _open) > Capacity)
        {
            Interlocked.Decrement(ref _open);
            Interlocked.Increment(ref _refused);
            if (_fullLog.Due(_time) is { } count)
            {
                BudgetFull(_log, count, Capacity, OpenFileLimit ?? 0);
            }

            return; // Kestrel closes the connection when its pipeline returns
        }

        try
        {
            if (tls && Source(connection) is { } source && !HandshakeStarted(connection, source))
            {
                Interlocked.Increment(ref _refused);
                var sourceText = source.ToString();
                _lastSource = sourceText;
                if (_sourceLog.Due(_time) is { } count)
                {
                    SourceFull(_log, count, PerSourceHandshakes, sourceText);
                }

                return;
            }

            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            HandshakeEnded(connection);
            Interlocked.Decrement(ref _open);
        }
    }

    // The source a connection counts against: its IPv4 address, or the /64 of an IPv6 one (one host commonly holds a
    // whole /64). Null for a connection without an IP address.
    private static IPAddress? Source(ConnectionContext connection)
    {
        if (connection.RemoteEndPoint is not IPEndPoint { Address: var address })
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    private bool HandshakeStarted(ConnectionContext connection, IPAddress source)
    {
        lock (_handshaking)
        {
            var held = _handshaking.GetValueOrDefault(source);
            if (held >= PerSourceHandshakes)
            {
                return false;
            }

            _handshaking[source] = held + 1;
        }

        connection.Items[s_handshakingKey] = source;
        return true;
    }

    private void HandshakeEnded(ConnectionContext connection)
    {
        if (!connection.Items.Remove(s_handshakingKey, out var value) || value is not IPAddress source)
        {
            return;
        }

        lock (_handshaking)
        {
            var held = _handshaking.GetValueOrDefault(source) - 1;
            if (held > 0)
            {
                _handshaking[source] = held;
            }
            else
            {
                _handshaking.Remove(source);
            }
        }
    }

    /// <summary>Reports the refusals counted since the last line of each kind, when a line is due.</summary>
    private void FlushRefusals()
    {
        if (_fullLog.Flush(_time) is { } full)
        {
            BudgetFull(_log, full, Capacity, OpenFileLimit ?? 0);
        }

        if (_sourceLog.Flush(_time) is { } fromSource)
        {
            SourceFull(_log, fromSource, PerSourceHandshakes, _lastSource);
        }
    }

    /// <summary>Logs the budget once at start, so the operator sees what the open-file limit allows.</summary>
    public void LogCapacity()
    {
        if (OpenFileLimit is { } limit)
        {
            BudgetSet(_log, Capacity, PerSourceHandshakes, limit, OpenAtStart, Reserve(limit));
        }
        else
        {
            BudgetUnknown(_log);
        }
    }

    // The first refusal of a kind is logged at once; later ones are summed into at most one line a minute (written by
    // the next refusal or by the minute's timer), so a flood of connections cannot become a flood of log lines. The
    // counter (and the metric) sees every one.
    private sealed class RefusalLog
    {
        private long _sinceLog;
        private long _nextLogAt;

        /// <summary>Counts a refusal; returns how many to report when a line is due now, else null.</summary>
        public long? Due(TimeProvider time)
        {
            Interlocked.Increment(ref _sinceLog);
            return Take(time);
        }

        /// <summary>How many refusals to report now that were counted without a line (a line is due and some are), else null.</summary>
        public long? Flush(TimeProvider time) => Interlocked.Read(ref _sinceLog) == 0 ? null : Take(time) is { } count and > 0 ? count : null;

        private long? Take(TimeProvider time)
        {
            var now = time.GetTimestamp();
            var due = Interlocked.Read(ref _nextLogAt);
            if (now < due || Interlocked.CompareExchange(ref _nextLogAt, now + (long)(s_logInterval.TotalSeconds * time.TimestampFrequency), due) != due)
            {
                return null;
            }

            return Interlocked.Exchange(ref _sinceLog, 0);
        }
    }

    /// <summary>The soft RLIMIT_NOFILE of this process from /proc/self/limits ("Max open files"); null where it cannot be read.</summary>
    internal static long? ReadOpenFileLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    continue;
                }

                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    [LoggerMessage(1052, LogLevel.Information, "Connection budget: at most {Capacity} inbound connections at once, {PerSource} per source address in unfinished TLS handshakes (open-file limit {Limit}, {OpenAtStart} open at start, {Reserve} kept for the database, peers and the runtime)")]
    private static partial void BudgetSet(ILogger logger, long capacity, long perSource, long limit, int openAtStart, long reserve);

    /// <summary>The descriptors this process has open (/proc/self/fd); 0 where that cannot be read.</summary>
    internal static int CountOpenDescriptors()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [LoggerMessage(1053, LogLevel.Warning, "Connection budget: the open-file limit could not be read (/proc/self/limits); inbound connections are not bounded")]
    private static partial void BudgetUnknown(ILogger logger);

    [LoggerMessage(1054, LogLevel.Warning, "Connection budget full: {Count} inbound connections closed at once since the last report (budget {Capacity}, open-file limit {Limit}); a flood, or raise LimitNOFILE")]
    private static partial void BudgetFull(ILogger logger, long count, long capacity, long limit);

    [LoggerMessage(1055, LogLevel.Warning, "Connection budget: {Count} inbound connections closed at once since the last report because their source already held {PerSource} unfinished TLS handshakes (last: {Source}); a flood from one address")]
    private static partial void SourceFull(ILogger logger, long count, long perSource, string source);
}
