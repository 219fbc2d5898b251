using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using CyberCoop.Agent.Configuration;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Parsing;

/// <summary>
/// Decides which observables may leave the sensor network: addresses of the home net and
/// addresses that are not globally routable (private, loopback, link-local, multicast) are never
/// reported, and allowlisted values (networks, domains with their subdomains, exact values) are dropped.
/// </summary>
internal sealed class SightingFilter
{
    private static readonly IPNetwork[] s_nonGlobal =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/127"), IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("ff00::/8"),
    ];

    private readonly IPNetwork[] _homeNet;
    private readonly IPNetwork[] _allowNetworks;
    private readonly FrozenSet<string> _allowValues;

    /// <summary>Creates a filter.</summary>
    public SightingFilter(IEnumerable<IPNetwork> homeNet, IEnumerable<string> allowlist)
    {
        ArgumentNullException.ThrowIfNull(homeNet);
        ArgumentNullException.ThrowIfNull(allowlist);
        _homeNet = [.. homeNet];
        var networks = new List<IPNetwork>();
        var values = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in allowlist)
        {
            var e = entry.Trim().TrimEnd('.');
            if (e.Length == 0)
            {
                continue;
            }

            if (NetworkParsing.TryParseNetwork(e, out var network))
            {
                networks.Add(network);
            }
            else
            {
                values.Add(e);
            }
        }

        _allowNetworks = [.. networks];
        _allowValues = values.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>A filter with no home net and no allowlist (non-routable addresses are still dropped).</summary>
    public static SightingFilter Default { get; } = new([], []);

    /// <summary>Returns why the observable must not be reported, or null when it may be.</summary>
    public string? Reject(IndicatorType type, string value)
    {
        switch (type)
        {
            case IndicatorType.Ipv4 or IndicatorType.Ipv6:
                return IPAddress.TryParse(value, out var address) ? RejectAddress(address) : null;
            case IndicatorType.Cidr:
                return IPNetwork.TryParse(value, out var network) ? RejectAddress(network.BaseAddress) : null;
            case IndicatorType.Domain:
                return RejectHost(value);
            case IndicatorType.Url:
                return Uri.TryCreate(value, UriKind.Absolute, out var uri) ? RejectHost(uri.IdnHost) ?? RejectExact(value) : RejectExact(value);
            case IndicatorType.Email:
                var at = value.LastIndexOf('@');
                return (at >= 0 ? RejectHost(value[(at + 1)..]) : null) ?? RejectExact(value);
            default:
                return RejectExact(value);
        }
    }

    private string? RejectHost(string host)
    {
        var h = host.Trim().TrimEnd('.');
        if (h.StartsWith('[') && h.EndsWith(']'))
        {
            h = h[1..^1];
        }

        if (IPAddress.TryParse(h, out var address))
        {
            return RejectAddress(address);
        }

        // The domain itself, then each parent: "a.b.example.com" is allowlisted by "example.com".
        var span = h.AsSpan();
        while (true)
        {
            if (_allowValues.GetAlternateLookup<ReadOnlySpan<char>>().Contains(span))
            {
                return "allowlisted";
            }

            var dot = span.IndexOf('.');
            if (dot < 0)
            {
                return null;
            }

            span = span[(dot + 1)..];
        }
    }

    private string? RejectExact(string value) => _allowValues.Contains(value.Trim()) ? "allowlisted" : null;

    /// <summary>Returns why an address must not be reported, or null.</summary>
    public string? RejectAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var net in _homeNet)
        {
            if (net.Contains(address))
            {
                return "home-net address";
            }
        }

        foreach (var net in s_nonGlobal)
        {
            if (net.Contains(address))
            {
                return "address not globally routable";
            }
        }

        if (address.AddressFamily == AddressFamily.InterNetwork && address.Equals(IPAddress.Broadcast))
        {
            return "address not globally routable";
        }

        foreach (var net in _allowNetworks)
        {
            if (net.Contains(address))
            {
                return "allowlisted";
            }
        }

        return null;
    }
}
