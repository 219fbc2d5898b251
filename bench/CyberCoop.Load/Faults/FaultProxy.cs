using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace CyberCoop.Load.Faults;

/// <summary>Which way through a <see cref="FaultProxy"/> a fault acts.</summary>
internal enum FaultDirection
{
    /// <summary>From the side that dials (client) to the side that listens (server).</summary>
    ClientToServer,

    /// <summary>From the listening side back to the dialling side.</summary>
    ServerToClient,

    /// <summary>Both ways.</summary>
    Both,
}

/// <summary>The kinds of fault a <see cref="FaultProxy"/> injects.</summary>
internal enum FaultKind
{
    /// <summary>Every chunk waits a fixed delay plus a uniform jitter (order is kept).</summary>
    Latency,

    /// <summary>Throughput is paced to a byte rate.</summary>
    Bandwidth,

    /// <summary>Each connection is cut with a TCP RST after a random number of bytes (a partial frame goes out first).</summary>
    Reset,

    /// <summary>Bytes are accepted and dropped; connections stay open and nothing answers (half-open).</summary>
    BlackHole,

    /// <summary>Open connections are reset and new ones are refused at once (the link is down).</summary>
    Partition,
}

/// <summary>One fault: what, which way and its parameters.</summary>
internal sealed record Fault
{
    public required FaultKind Kind { get; init; }

    public FaultDirection Direction { get; init; } = FaultDirection.Both;

    /// <summary>Fixed delay of <see cref="FaultKind.Latency"/>.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Uniform extra delay 0..Jitter of <see cref="FaultKind.Latency"/>.</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Bytes per second of <see cref="FaultKind.Bandwidth"/>.</summary>
    public long BytesPerSecond { get; init; }

    /// <summary>Upper bound of the random byte offset of <see cref="FaultKind.Reset"/> (per connection and direction).</summary>
    public int MaxBytesBeforeReset { get; init; } = 64 * 1024;

    public static Fault Latency(TimeSpan delay, TimeSpan jitter, FaultDirection direction = FaultDirection.Both) =>
        new() { Kind = FaultKind.Latency, Delay = delay, Jitter = jitter, Direction = direction };

    public static Fault Bandwidth(long bytesPerSecond, FaultDirection direction = FaultDirection.Both) =>
        new() { Kind = FaultKind.Bandwidth, BytesPerSecond = bytesPerSecond, Direction = direction };

    public static Fault Reset(int maxBytesBeforeReset = 64 * 1024, FaultDirection direction = FaultDirection.Both) =>
        new() { Kind = FaultKind.Reset, MaxBytesBeforeReset = maxBytesBeforeReset, Direction = direction };

    public static Fault BlackHole(FaultDirection direction = FaultDirection.Both) => new() { Kind = FaultKind.BlackHole, Direction = direction };

    public static Fault Partition() => new() { Kind = FaultKind.Partition };

    /// <summary>A short label for tables and logs, e.g. <c>latency 200±100ms c→s</c>.</summary>
    public override string ToString()
    {
        var way = Direction switch
        {
            FaultDirection.ClientToServer => " c→s",
            FaultDirection.ServerToClient => " s→c",
            _ => "",
        };
        return Kind switch
        {
            FaultKind.Latency => $"latency {Delay.TotalMilliseconds:0}±{Jitter.TotalMilliseconds:0}ms{way}",
            FaultKind.Bandwidth => $"bandwidth {BytesPerSecond / 1024} KiB/s{way}",
            FaultKind.Reset => $"reset ≤{MaxBytesBeforeReset / 1024} KiB{way}",
            FaultKind.BlackHole => $"black hole{way}",
            _ => "partition",
        };
    }

    internal bool Acts(FaultDirection way) => Direction == FaultDirection.Both || Direction == way;
}

/// <summary>
/// A TCP proxy on loopback that sits between two real endpoints (gateway and gateway, agent and gateway) and injects
/// network faults on demand: latency with jitter, a bandwidth limit, resets at random byte offsets, a black hole
/// (half-open: bytes accepted, nothing answered) and a full partition, each one way or both, for a set time. TLS passes
/// through untouched (the proxy sees ciphertext only), so mutual TLS between the real endpoints is what is tested.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private const int ChunkBytes = 16 * 1024;

    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, Link> _links = new();
    private readonly Lock _gate = new();
    private readonly Task _acceptLoop;
    private List<Fault> _faults = [];
    private long _nextLink;
    private long _accepted;
    private long _resets;
    private long _dropped;

    private FaultProxy(TcpListener listener, IPEndPoint target)
    {
        _listener = listener;
        _target = target;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The loopback port the proxy listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary><c>https://127.0.0.1:&lt;port&gt;</c>: what a client dials instead of the target.</summary>
    public string Address => $"https://127.0.0.1:{Port}";

    /// <summary>Connections accepted so far.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections the proxy cut with a reset (reset faults and partitions).</summary>
    public long ConnectionsReset => Interlocked.Read(ref _resets);

    /// <summary>Bytes dropped by black holes.</summary>
    public long BytesDropped => Interlocked.Read(ref _dropped);

    /// <summary>Connections open now.</summary>
    public int OpenConnections => _links.Count;

    /// <summary>Starts a proxy to <paramref name="targetPort"/> on 127.0.0.1, listening on <paramref name="port"/> (0: any free port).</summary>
    public static FaultProxy Start(int targetPort, int port = 0)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(512);
        return new FaultProxy(listener, new IPEndPoint(IPAddress.Loopback, targetPort));
    }

    /// <summary>Applies <paramref name="fault"/> until the returned handle is disposed.</summary>
    public IDisposable Apply(Fault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_gate)
        {
            _faults = [.. _faults, fault];
        }

        foreach (var link in _links.Values)
        {
            link.FaultAdded(fault);
        }

        return new Lift(this, fault);
    }

    /// <summary>Applies <paramref name="fault"/> for <paramref name="duration"/>, then lifts it.</summary>
    public async Task ApplyForAsync(Fault fault, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        using var _ = Apply(fault);
        await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Resets every open connection now (as a middlebox that lost its state would).</summary>
    public void ResetAll()
    {
        foreach (var link in _links.Values)
        {
            link.Abort();
        }
    }

    private IReadOnlyList<Fault> Faults
    {
        get
        {
            lock (_gate)
            {
                return _faults;
            }
        }
    }

    private void Remove(Fault fault)
    {
        lock (_gate)
        {
            var list = _faults.ToList();
            list.Remove(fault);
            _faults = list;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            if (Faults.Any(f => f.Kind == FaultKind.Partition))
            {
                Interlocked.Increment(ref _resets);
                AbortSocket(client);
                continue;
            }

            var id = Interlocked.Increment(ref _nextLink);
            var link = new Link(this, id, client);
            _links[id] = link;
            _ = link.RunAsync();
        }
    }

    internal static void AbortSocket(Socket socket)
    {
        try
        {
            // Linger 0: close sends RST instead of FIN, as a cut link or a middlebox reset does.
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        foreach (var link in _links.Values)
        {
            link.Abort();
        }

        _stop.Dispose();
    }

    private sealed class Lift(FaultProxy proxy, Fault fault) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                proxy.Remove(fault);
            }
        }
    }

    /// <summary>One proxied connection: a client socket, a server socket and a pump each way.</summary>
    private sealed class Link(FaultProxy proxy, long id, Socket client)
    {
        private readonly Socket _server = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private readonly CancellationTokenSource _cut = new();
        private readonly ConcurrentDictionary<Fault, long> _resetAt = new();
        private int _aborted;

        public async Task RunAsync()
        {
            client.NoDelay = true;
            try
            {
                await _server.ConnectAsync(proxy._target, _cut.Token).ConfigureAwait(false);
                foreach (var fault in proxy.Faults)
                {
                    FaultAdded(fault);
                }

                await Task.WhenAll(
                    PumpAsync(client, _server, FaultDirection.ClientToServer),
                    PumpAsync(_server, client, FaultDirection.ServerToClient)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // The link ends.
            }
            finally
            {
                Abort();
                proxy._links.TryRemove(id, out _);
                _cut.Dispose();
            }
        }

        public void FaultAdded(Fault fault)
        {
            if (fault.Kind == FaultKind.Partition)
            {
                Interlocked.Increment(ref proxy._resets);
                Abort();
            }
            else if (fault.Kind == FaultKind.Reset)
            {
                // Counted from now, per direction: the cut lands at a random byte, usually inside a frame.
                _resetAt[fault] = Random.Shared.Next(1, Math.Max(2, fault.MaxBytesBeforeReset));
            }
        }

        public void Abort()
        {
            if (Interlocked.Exchange(ref _aborted, 1) != 0)
            {
                return;
            }

            try
            {
                _cut.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Ended meanwhile.
            }

            AbortSocket(client);
            AbortSocket(_server);
        }

        private async Task PumpAsync(Socket from, Socket to, FaultDirection way)
        {
            // Reader and writer are decoupled by a queue so latency delays each chunk without throttling the stream.
            var queue = Channel.CreateBounded<(long Due, byte[] Bytes, int Count)>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
            var writer = WriteAsync(queue.Reader, to, way);
            long lastDue = 0;
            try
            {
                while (true)
                {
                    var buffer = new byte[ChunkBytes];
                    var read = await from.ReceiveAsync(buffer, SocketFlags.None, _cut.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    var due = Environment.TickCount64;
                    foreach (var fault in proxy.Faults)
                    {
                        if (fault.Kind == FaultKind.Latency && fault.Acts(way))
                        {
                            due += (long)(fault.Delay.TotalMilliseconds + (Random.Shared.NextDouble() * fault.Jitter.TotalMilliseconds));
                        }
                    }

                    lastDue = Math.Max(lastDue, due);
                    await queue.Writer.WriteAsync((lastDue, buffer, read), _cut.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                queue.Writer.TryComplete();
            }

            await writer.ConfigureAwait(false);
            try
            {
                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The other side is gone too.
            }
        }

        private async Task WriteAsync(ChannelReader<(long Due, byte[] Bytes, int Count)> queue, Socket to, FaultDirection way)
        {
            var sent = new Dictionary<Fault, long>();
            await foreach (var (due, bytes, count) in queue.ReadAllAsync(_cut.Token).ConfigureAwait(false))
            {
                var wait = due - Environment.TickCount64;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), _cut.Token).ConfigureAwait(false);
                }

                var faults = proxy.Faults;
                if (faults.Any(f => f.Kind is FaultKind.BlackHole or FaultKind.Partition && f.Acts(way)))
                {
                    Interlocked.Add(ref proxy._dropped, count);
                    continue;
                }

                var length = count;
                var cut = false;
                foreach (var fault in faults)
                {
                    if (fault.Kind != FaultKind.Reset || !fault.Acts(way) || !_resetAt.TryGetValue(fault, out var at))
                    {
                        continue;
                    }

                    var before = sent.GetValueOrDefault(fault);
                    if (before + count >= at)
                    {
                        length = Math.Min(length, (int)Math.Max(0, at - before));
                        cut = true;
                    }

                    sent[fault] = before + count;
                }

                if (length > 0)
                {
                    await to.SendAsync(bytes.AsMemory(0, length), SocketFlags.None, _cut.Token).ConfigureAwait(false);
                }

                if (cut)
                {
                    Interlocked.Increment(ref proxy._resets);
                    Abort();
                    return;
                }

                foreach (var fault in faults)
                {
                    if (fault.Kind == FaultKind.Bandwidth && fault.Acts(way) && fault.BytesPerSecond > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)length / fault.BytesPerSecond), _cut.Token).ConfigureAwait(false);
                    }
                }
            }
        }
    }
}
