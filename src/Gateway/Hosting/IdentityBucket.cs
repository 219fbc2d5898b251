using System.Threading.RateLimiting;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// One identity's token bucket (<see cref="TokenBucketRateLimiter"/> without its own timer) and the schedule it is
/// refilled on: <see cref="Replenish"/>, called by <see cref="CallerLimits"/>' timer, adds the tokens due for the time
/// elapsed on the node's <see cref="TimeProvider"/>, so a late tick loses nothing and tests control time.
/// </summary>
internal sealed class IdentityBucket
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly long _periodTicks;
    private readonly int _perPeriod;
    private long _last;

    public IdentityBucket(int perSecond, int burst, TimeProvider time)
    {
        _time = time;
        // Refilled in steps of about 1/20 s (fewer for rates under 20/s), each step exactly rate * step tokens.
        _perPeriod = Math.Max(1, perSecond / 20);
        var period = TimeSpan.FromSeconds((double)_perPeriod / perSecond);
        _periodTicks = (long)(period.TotalSeconds * time.TimestampFrequency);
        Limit = burst;
        _last = time.GetTimestamp();
        Limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = _perPeriod,
            ReplenishmentPeriod = period,
            AutoReplenishment = false,
            QueueLimit = burst,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>The limiter messages acquire from (queue: up to <see cref="Limit"/> tokens waiting, oldest first).</summary>
    public TokenBucketRateLimiter Limiter { get; }

    /// <summary>The burst: most tokens held, and most waiting.</summary>
    public int Limit { get; }

    /// <summary>Adds the tokens due since the last refill (a late timer tick catches up; a full bucket stays full).</summary>
    public void Replenish()
    {
        int steps;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var due = (now - _last) / Math.Max(1, _periodTicks);
            if (due <= 0)
            {
                return;
            }

            var fill = (Limit / _perPeriod) + 1;
            steps = (int)Math.Min(due, fill);
            _last = due > fill ? now : _last + (due * _periodTicks);
        }

        for (var i = 0; i < steps; i++)
        {
            Limiter.TryReplenish();
        }
    }

    /// <summary>Refills until every waiting message is admitted.</summary>
    public void Drain()
    {
        for (var i = 0; i < 2 * ((Limit / _perPeriod) + 1); i++)
        {
            Limiter.TryReplenish();
        }
    }
}
