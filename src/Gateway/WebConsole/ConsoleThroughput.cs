using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// Throughput now: the node's counters sampled every few seconds, and the rate over the last minute of samples.
/// </summary>
internal sealed class ConsoleThroughput(NodeMetrics metrics, TimeProvider time)
{
    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private readonly Queue<(DateTimeOffset At, long Ingested, long Sent, long Received)> _samples = new();

    /// <summary>Records the counters now (called by a timer and on every read).</summary>
    public void Sample()
    {
        long sent = 0, received = 0;
        foreach (var peer in metrics.Peers.Values)
        {
            sent += Interlocked.Read(ref peer.IndicatorsSent);
            received += Interlocked.Read(ref peer.IndicatorsReceived);
        }

        var now = time.GetUtcNow();
        lock (_gate)
        {
            _samples.Enqueue((now, metrics.SightingsIngested, sent, received));
            while (_samples.Count > 2 && now - _samples.Peek().At > s_window)
            {
                _samples.Dequeue();
            }
        }
    }

    /// <summary>Per second over the window: sightings ingested, indicators sent to peers, indicators received from them.</summary>
    public (double Ingested, double Sent, double Received, TimeSpan Over) Rates()
    {
        Sample();
        lock (_gate)
        {
            var first = _samples.Peek();
            var last = _samples.Last();
            var seconds = (last.At - first.At).TotalSeconds;
            if (seconds < 1)
            {
                return (0, 0, 0, TimeSpan.Zero);
            }

            return ((last.Ingested - first.Ingested) / seconds, (last.Sent - first.Sent) / seconds, (last.Received - first.Received) / seconds, last.At - first.At);
        }
    }
}
