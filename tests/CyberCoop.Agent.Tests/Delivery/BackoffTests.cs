using CyberCoop.Agent.Delivery;

namespace CyberCoop.Agent.Tests.Delivery;

public sealed class BackoffTests
{
    [Fact]
    public void Backoff_is_jittered_grows_with_failures_and_is_capped()
    {
        var first = Enumerable.Range(0, 200).Select(_ => GatewayDelivery.Backoff(0)).ToList();
        var later = Enumerable.Range(0, 200).Select(_ => GatewayDelivery.Backoff(20)).ToList();

        Assert.All(first, d => Assert.InRange(d, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200)));
        Assert.All(later, d => Assert.InRange(d, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30)));
        Assert.True(later.Distinct().Count() > 100, "delays must be jittered");
        Assert.True(later.Average(d => d.TotalMilliseconds) > 5_000);
        Assert.InRange(Enumerable.Range(0, 200).Select(_ => GatewayDelivery.Backoff(3)).Max(), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(1600));
    }
}
