using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>
/// One identity's token bucket: the burst at once, nothing beyond it until time passes, a waiting message admitted by a
/// later refill, and a message beyond a burst's worth waiting refused at once. Only bounds that hold on a loaded
/// machine are asserted (the limiter measures elapsed time itself).
/// </summary>
public sealed class IdentityBucketTests
{
    [Fact]
    public void The_burst_is_admitted_at_once_and_nothing_beyond_it()
    {
        var bucket = new IdentityBucket(perSecond: 1, burst: 20);

        Assert.True(bucket.Limiter.AttemptAcquire(20).IsAcquired);
        bucket.Replenish();
        Assert.False(bucket.Limiter.AttemptAcquire(2).IsAcquired);
    }

    [Fact]
    public async Task A_waiting_message_is_admitted_by_a_later_refill_and_more_than_a_burst_waiting_is_refused()
    {
        var bucket = new IdentityBucket(perSecond: 50, burst: 5);
        Assert.True(bucket.Limiter.AttemptAcquire(5).IsAcquired);

        var waiting = bucket.Limiter.AcquireAsync(5).AsTask();
        using var refused = await bucket.Limiter.AcquireAsync(1);
        Assert.False(refused.IsAcquired);
        Assert.Equal(5, bucket.Waiting);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!waiting.IsCompleted)
        {
            bucket.Replenish();
            await Task.WhenAny(waiting, Task.Delay(20, timeout.Token));
        }

        using var lease = await waiting;
        Assert.True(lease.IsAcquired);
        Assert.Equal(0, bucket.Waiting);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    public void A_rate_or_burst_below_one_is_a_programming_error(int perSecond, int burst)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdentityBucket(perSecond, burst));
    }
}
