using System.Threading.RateLimiting;

namespace CyberCoop.Gateway.Security;

/// <summary>
/// One identity's token bucket: a <see cref="TokenBucketRateLimiter"/> without a timer of its own. <see cref="Replenish"/>
/// is called by <see cref="CallerLimits"/>' single timer (on the node's <see cref="TimeProvider"/>) for every bucket;
/// the limiter itself adds the tokens due for the time elapsed since the previous refill, so a late tick loses nothing
/// and the rate holds however the ticks fall.
/// </summary>
internal sealed class IdentityBucket
{
    public IdentityBucket(int perSecond, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        Limit = burst;
        Limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            // The fill rate is TokensPerPeriod / ReplenishmentPeriod = perSecond.
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            AutoReplenishment = false,
            QueueLimit = burst,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>The limiter messages acquire from (queue: up to <see cref="Limit"/> tokens waiting, oldest first).</summary>
    public TokenBucketRateLimiter Limiter { get; }

    /// <summary>The burst: most tokens held, and most waiting.</summary>
    public int Limit { get; }

    /// <summary>Tokens awaited by the messages waiting (0 when none waits).</summary>
    public long Waiting => Limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>Adds the tokens due since the previous refill (at most up to the burst) and admits waiting messages.</summary>
    public void Replenish() => Limiter.TryReplenish();
}
