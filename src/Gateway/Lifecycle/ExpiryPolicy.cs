using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// Expiry of indicators: a default valid_until per type for sightings that carry none (<c>node.expiry.defaultLifetimeDays</c>),
/// and how long expired indicators are kept before they are deleted (<c>node.expiry.retentionDays</c>). Expired
/// indicators are never sent (outbound policy rule <c>expired</c>, relays included) and never exported as active.
/// </summary>
internal static class ExpiryPolicy
{
    /// <summary>Longest default lifetime or retention, in days (ten years).</summary>
    public const int MaxDays = 3650;

    /// <summary>The configured default lifetimes by type (the config is validated: unknown names are not there).</summary>
    public static IReadOnlyDictionary<IndicatorType, TimeSpan> DefaultLifetimes(ExpiryConfig? expiry)
    {
        var lifetimes = new Dictionary<IndicatorType, TimeSpan>();
        foreach (var (name, days) in expiry?.DefaultLifetimeDays ?? new Dictionary<string, int>())
        {
            if (IndicatorTypeNames.TryParse(name, out var type) && days is > 0 and <= MaxDays)
            {
                lifetimes[type] = TimeSpan.FromDays(days);
            }
        }

        return lifetimes;
    }

    /// <summary>Adds an error naming the field for everything wrong in <c>node.expiry</c> (all of them, no short-circuit).</summary>
    public static void Validate(ExpiryConfig? expiry, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (expiry is null)
        {
            errors.Add("node.expiry: must not be null");
            return;
        }

        if (expiry.DefaultLifetimeDays is null)
        {
            errors.Add("node.expiry.defaultLifetimeDays: must not be null (use {} for no default lifetimes)");
        }
        else
        {
            foreach (var (name, days) in expiry.DefaultLifetimeDays)
            {
                if (!IndicatorTypeNames.TryParse(name, out _))
                {
                    errors.Add($"node.expiry.defaultLifetimeDays.{name}: not an indicator type (ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, sha512, ja3, ja4, asn, cve)");
                }
                else if (days is < 1 or > MaxDays)
                {
                    errors.Add($"node.expiry.defaultLifetimeDays.{name}: {days} must be between 1 and {MaxDays} days (leave the type out for no expiry)");
                }
            }
        }

        if (expiry.RetentionDays is < 0 or > MaxDays)
        {
            errors.Add($"node.expiry.retentionDays: {expiry.RetentionDays} must be between 0 and {MaxDays}");
        }

        if (expiry.PruneIntervalSeconds is < 60 or > 86_400)
        {
            errors.Add($"node.expiry.pruneIntervalSeconds: {expiry.PruneIntervalSeconds} must be between 60 and 86400");
        }
    }
}
