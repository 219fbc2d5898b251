using System.Net;
using System.Net.Sockets;
using CyberCoop.Gateway.Hosting;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>Ports named in configs before a node starts: free, distinct, and never from the range outgoing connections use.</summary>
public sealed class LoopbackPortsTests
{
    [Fact]
    public void Reserved_ports_are_distinct_bindable_and_below_the_ephemeral_range()
    {
        var first = LoopbackPorts.Reserve(5);
        var second = LoopbackPorts.Reserve(5);

        var all = first.Concat(second).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(all, port => Assert.InRange(port, 1024, 32_767));
        foreach (var port in all)
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
        }
    }

    [Fact]
    public void A_port_something_listens_on_is_never_handed_out()
    {
        var taken = LoopbackPorts.Reserve();
        using var occupant = new TcpListener(IPAddress.Loopback, taken);
        occupant.Start();

        // Walk far enough that the counter wraps past the occupied port at least once.
        var handedOut = new HashSet<int>();
        for (var i = 0; i < 13_000 / 500; i++)
        {
            handedOut.UnionWith(LoopbackPorts.Reserve(500));
        }

        Assert.DoesNotContain(taken, handedOut);
    }
}
