using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Pipeline;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Lifecycle;

/// <summary>
/// What a sighting report carries back to an origin, directly or relayed along the path the indicator took: counts and
/// times, sectors only when allowed, never sensors or hosts.
/// </summary>
public sealed class SightingsReportTests
{
    private const string Self = "spiffe://fi.cybercoop/gateway/helsinki";
    private const string Origin = "spiffe://ee.cybercoop/gateway/tallinn";
    private const string Relay = "spiffe://lt.cybercoop/gateway/vilnius";
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] SectorNames = ["energy", "health", "finance", "water", "transport"];

    /// <summary>
    /// A random indicator seen by the origin, possibly by a relay it came through, and by several sensors here, each with a
    /// secret sensor name, internal host and signature in its context, and the secrets that must never leave.
    /// </summary>
    private static (Indicator Indicator, List<string> Secrets, long OwnTotal) RandomIndicator(int seed)
    {
        var random = new Random(seed);
        var value = $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(256)}";
        var indicator = new Indicator
        {
            Id = IndicatorIds.Compute(IndicatorType.Ipv4, value),
            Type = IndicatorType.Ipv4,
            Value = value,
            Tlp = Tlp.Green,
            Confidence = 60,
            OriginDomain = "ee.cybercoop",
        };
        indicator.Sectors.Add(SectorNames.Where(_ => random.Next(2) == 0));
        var secrets = new List<string>();
        long own = 0;
        var observations = random.Next(1, 6);
        for (var i = 0; i < observations; i++)
        {
            var mine = i > 0 || random.Next(2) == 0;
            var sensor = $"sensor-{random.Next():x}-{(char)('a' + random.Next(26))}";
            var host = $"scada-{random.Next():x}.plant{random.Next(100)}.internal";
            var seen = T0.AddMinutes(-random.Next(1, 10_000));
            var count = (uint)random.Next(0, 1000);
            var observation = new Observation
            {
                Node = mine ? Self : random.Next(2) == 0 ? Origin : Relay,
                Sensor = sensor,
                Count = count,
                Confidence = 50,
                FirstSeen = Timestamp.FromDateTimeOffset(seen),
                LastSeen = Timestamp.FromDateTimeOffset(seen.AddMinutes(random.Next(0, 60))),
            };
            observation.Context["internal_host"] = host;
            observation.Context["signature"] = $"ET secret rule {random.Next():x}";
            indicator.Observations.Add(observation);
            secrets.Add(sensor);
            secrets.Add(host);
            secrets.Add(observation.Context["signature"]);
            if (mine)
            {
                own += Math.Max(1u, count);
            }
        }

        return (indicator, secrets, own);
    }

    [Fact]
    public void Sent_reports_never_contain_sensor_names_hosts_or_context_at_any_policy_level()
    {
        Prop.ForAll<int>(seed =>
        {
            var (indicator, secrets, ownTotal) = RandomIndicator(seed);
            foreach (var level in new[] { SightingsBackLevel.Counts, SightingsBackLevel.CountsAndSector })
            {
                var alreadyReported = new Random(seed).Next(0, (int)Math.Max(1, ownTotal));
                var (entry, total) = SightingsReport.Entry(indicator, Self, alreadyReported, level, T0.AddDays(30));
                if (ownTotal == 0)
                {
                    // Only the origin saw it: there is nothing to report.
                    if (entry is not null)
                    {
                        return false;
                    }

                    continue;
                }

                if (entry is null || total != ownTotal || entry.Count != ownTotal - alreadyReported)
                {
                    return false;
                }

                var report = new SightingReport
                {
                    ReportId = ByteString.CopyFrom(new byte[16]),
                    Reporter = Self,
                    Origin = Origin,
                    PeriodStart = Timestamp.FromDateTimeOffset(T0.AddHours(-1)),
                    PeriodEnd = Timestamp.FromDateTimeOffset(T0),
                };
                report.Sightings.Add(entry);
                // Direct: the signed report. Relayed: the same report unchanged, plus only the reporter's key announcement.
                var direct = new SignedSightingReport { Report = report.ToByteString(), Suite = Suite.X25519Aes256GcmEd25519, SignerKeyId = ByteString.CopyFrom(new byte[16]) };
                var relayed = direct.Clone();
                relayed.ReporterAnnouncement = new SignedKeyAnnouncement { Announcement = new KeyAnnouncement { Node = Self }.ToByteString() };
                foreach (var wire in new[] { report.ToByteArray(), direct.ToByteArray(), relayed.ToByteArray() })
                {
                    var text = Encoding.UTF8.GetString(wire);
                    if (secrets.Any(secret => text.Contains(secret, StringComparison.Ordinal) || wire.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0))
                    {
                        return false;
                    }
                }

                if (level == SightingsBackLevel.Counts ? entry.Sectors.Count != 0 : !entry.Sectors.SequenceEqual(indicator.Sectors))
                {
                    return false;
                }
            }

            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Nothing_is_reported_when_the_policy_is_off_or_nothing_is_new()
    {
        var (indicator, _, ownTotal) = RandomIndicator(7);

        Assert.Null(SightingsReport.Entry(indicator, Self, 0, SightingsBackLevel.Off, T0).Entry);
        Assert.Null(SightingsReport.Entry(indicator, Self, ownTotal, SightingsBackLevel.Counts, T0).Entry);
        Assert.Null(SightingsReport.Entry(indicator, "spiffe://lv.cybercoop/gateway/riga", 0, SightingsBackLevel.Counts, T0).Entry);
    }

    [Fact]
    public void First_and_last_seen_are_this_nodes_own_first_and_last_sighting()
    {
        var indicator = new Indicator { Id = IndicatorIds.Compute(IndicatorType.Ipv4, "10.0.0.1"), Type = IndicatorType.Ipv4, Value = "10.0.0.1" };
        indicator.Observations.Add(new Observation { Node = Origin, Count = 9, FirstSeen = Timestamp.FromDateTimeOffset(T0.AddDays(-9)), LastSeen = Timestamp.FromDateTimeOffset(T0) });
        indicator.Observations.Add(new Observation { Node = Self, Sensor = "a", Count = 2, FirstSeen = Timestamp.FromDateTimeOffset(T0.AddHours(-3)), LastSeen = Timestamp.FromDateTimeOffset(T0.AddHours(-2)) });
        indicator.Observations.Add(new Observation { Node = Self, Sensor = "b", Count = 1, FirstSeen = Timestamp.FromDateTimeOffset(T0.AddHours(-5)), LastSeen = Timestamp.FromDateTimeOffset(T0.AddHours(-1)) });

        var (entry, total) = SightingsReport.Entry(indicator, Self, 0, SightingsBackLevel.Counts, T0);

        Assert.Equal(3, total);
        Assert.Equal(3u, entry!.Count);
        Assert.Equal(T0.AddHours(-5), entry.FirstSeen.ToDateTimeOffset());
        Assert.Equal(T0.AddHours(-1), entry.LastSeen.ToDateTimeOffset());
    }

    [Fact]
    public void Times_from_a_sensor_whose_clock_is_fast_are_capped_at_this_nodes_clock()
    {
        // The gateway accepts an agent's sighting up to 24 h ahead; a peer refuses a whole report with a time beyond its
        // clock skew allowance (120 s by default), so the reporter caps the times at its own clock.
        var indicator = new Indicator { Id = IndicatorIds.Compute(IndicatorType.Ipv4, "10.0.0.2"), Type = IndicatorType.Ipv4, Value = "10.0.0.2" };
        indicator.Observations.Add(new Observation { Node = Self, Sensor = "fast", Count = 1, FirstSeen = Timestamp.FromDateTimeOffset(T0.AddMinutes(10)), LastSeen = Timestamp.FromDateTimeOffset(T0.AddMinutes(20)) });
        indicator.Observations.Add(new Observation { Node = Self, Sensor = "true", Count = 1, FirstSeen = Timestamp.FromDateTimeOffset(T0.AddHours(-1)), LastSeen = Timestamp.FromDateTimeOffset(T0.AddHours(-1)) });

        var (entry, _) = SightingsReport.Entry(indicator, Self, 0, SightingsBackLevel.Counts, T0);

        Assert.Equal(T0.AddHours(-1), entry!.FirstSeen.ToDateTimeOffset());
        Assert.Equal(T0, entry.LastSeen.ToDateTimeOffset());

        indicator.Observations.RemoveAt(1);
        var (onlyFast, _) = SightingsReport.Entry(indicator, Self, 0, SightingsBackLevel.Counts, T0);
        Assert.Equal(T0, onlyFast!.FirstSeen.ToDateTimeOffset());
        Assert.Equal(T0, onlyFast.LastSeen.ToDateTimeOffset());
    }
}
