using System.Net;
using System.Net.Sockets;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// Hands out loopback TCP ports that are free now, for configs that must name a node's port before the node
/// starts (a development federation, tests, the load tool). Ports come from below the Linux ephemeral range
/// (32768-60999 by default): a port picked there by binding port 0 can be taken as the local port of any
/// outgoing connection before the node binds it, which made busy test runs fail with "address already in use".
/// One process hands out the range's 12,000 ports in turn before it comes back to any of them, each checked
/// free when handed out; each process starts at a random point to keep two processes apart.
/// </summary>
internal static class LoopbackPorts
{
    private const int First = 20_000;
    private const int Last = 32_000;
    private static readonly Lock s_gate = new();
    private static int s_next = First + Random.Shared.Next(Last - First);

    /// <summary>Returns <paramref name="count"/> distinct ports on 127.0.0.1 that nothing listens on now.</summary>
    public static int[] Reserve(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var ports = new List<int>(count);
        lock (s_gate)
        {
            for (var tried = 0; ports.Count < count; tried++)
            {
                if (tried > Last - First)
                {
                    throw new InvalidOperationException($"no free loopback port between {First} and {Last}");
                }

                var port = s_next;
                s_next = s_next >= Last ? First : s_next + 1;
                if (IsFree(port))
                {
                    ports.Add(port);
                }
            }
        }

        return [.. ports];
    }

    /// <summary>One free port; see <see cref="Reserve"/>.</summary>
    public static int Reserve() => Reserve(1)[0];

    private static bool IsFree(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
