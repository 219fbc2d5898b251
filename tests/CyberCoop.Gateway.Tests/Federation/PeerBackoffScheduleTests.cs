using System.Security.Authentication;
using CyberCoop.Gateway.Federation;
using Grpc.Core;

namespace CyberCoop.Gateway.Tests.Federation;

/// <summary>The forwarder's retry schedule: exponential, jittered, capped, and bounded from below so attempts per window are bounded.</summary>
public sealed class PeerBackoffScheduleTests
{
    private static readonly TimeSpan s_min = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_deniedCap = TimeSpan.FromSeconds(300);

    [Fact]
    public void Steps_double_from_the_minimum_up_to_the_cap()
    {
        var steps = Enumerable.Range(0, 14).Select(n => PeerForwarder.BackoffStep(n, s_min, s_deniedCap).TotalMilliseconds).ToList();

        Assert.Equal([200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 102_400, 204_800, 300_000, 300_000, 300_000], steps);
        Assert.Equal(s_deniedCap, PeerForwarder.BackoffStep(int.MaxValue, s_min, s_deniedCap));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(20)]
    public void Each_delay_is_between_half_and_all_of_its_step(int attempt)
    {
        var step = PeerForwarder.BackoffStep(attempt, s_min, s_deniedCap);

        Assert.Equal(step / 2, PeerForwarder.Backoff(attempt, s_min, s_deniedCap, 0));
        Assert.Equal(step, PeerForwarder.Backoff(attempt, s_min, s_deniedCap, 1));
        var random = Enumerable.Range(0, 500).Select(_ => PeerForwarder.Backoff(attempt, s_min, s_deniedCap, Random.Shared.NextDouble())).ToList();
        Assert.All(random, d => Assert.InRange(d, step / 2, step));
        Assert.True(random.Distinct().Count() > 100, "the delays are jittered");
    }

    [Fact]
    public void A_refused_node_makes_at_most_twelve_attempts_in_its_first_ten_minutes_where_200_ms_retries_made_3000()
    {
        // Worst case: every delay at the bottom of its range.
        var elapsed = TimeSpan.Zero;
        var attempts = 1;
        while (true)
        {
            elapsed += PeerForwarder.Backoff(attempts - 1, s_min, s_deniedCap, 0);
            if (elapsed > TimeSpan.FromMinutes(10))
            {
                break;
            }

            attempts++;
        }

        Assert.InRange(attempts, 1, 14);
    }

    [Fact]
    public void Refusals_back_off_longer_than_failures_that_pass_by_themselves()
    {
        Assert.True(PeerForwarder.IsRefusal(new RpcException(new Status(StatusCode.PermissionDenied, "only configured peer gateways may call Federation"))));
        Assert.True(PeerForwarder.IsRefusal(new RpcException(new Status(StatusCode.Unauthenticated, ""))));
        Assert.True(PeerForwarder.IsRefusal(new RpcException(new Status(StatusCode.ResourceExhausted, "node.limits.peerMaxStreams: ..."))));
        Assert.True(PeerForwarder.IsRefusal(new RpcException(new Status(StatusCode.Unavailable, "handshake",
            new HttpRequestException("The SSL connection could not be established", new AuthenticationException("remote certificate rejected"))))));
        Assert.False(PeerForwarder.IsRefusal(new RpcException(new Status(StatusCode.Unavailable, "connection refused", new HttpRequestException("refused")))));
        Assert.False(PeerForwarder.IsRefusal(new InvalidOperationException("trust bundle not accepted: expired")));
    }

    [Fact]
    public void A_peer_whose_storage_is_full_or_whose_database_server_is_exhausted_is_retried_as_an_ordinary_failure()
    {
        Assert.False(PeerForwarder.IsRefusal(new RpcException(new Status(StatusCode.ResourceExhausted, "storage-full: the database ... cannot grow"))));
        Assert.False(PeerForwarder.IsRefusal(new RpcException(new Status(StatusCode.ResourceExhausted,
            "storage-exhausted: the PostgreSQL store postgresql://db:5432/x cannot take writes: the server refused a connection: too many connections (SQLSTATE 53300: ...)"))));
    }
}
