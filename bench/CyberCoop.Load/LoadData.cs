using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Load;

/// <summary>
/// The synthetic sightings of a run: a mix of domains, IPv4 addresses, URLs and SHA-256 hashes, each value unique per
/// (run, serial), shaped like what a Suricata-fed agent sends (sensor, signature and internal host in the context).
/// </summary>
internal static class LoadData
{
    /// <summary>The sighting number <paramref name="serial"/> of the value space <paramref name="space"/>.</summary>
    public static Sighting Sighting(string space, long serial, DateTimeOffset observedAt)
    {
        var (type, value) = Value(space, serial);
        var sighting = new Sighting
        {
            Type = type,
            Value = value,
            Tlp = Tlp.Green,
            Confidence = 70 + (uint)(serial % 30),
            ObservedAt = Timestamp.FromDateTimeOffset(observedAt),
            Sensor = "suricata-dmz",
            Count = 1,
        };
        sighting.Tags.Add("load-test");
        sighting.Context["signature"] = "ET MALWARE load test";
        sighting.Context["internal_host"] = "ws-" + (serial % 500).ToString(CultureInfo.InvariantCulture) + ".internal";
        return sighting;
    }

    /// <summary>An Ingest batch of sightings <paramref name="first"/> .. first + count - 1.</summary>
    public static IngestBatch Batch(string space, long first, int count, DateTimeOffset observedAt)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)) };
        for (var i = 0; i < count; i++)
        {
            batch.Sightings.Add(Sighting(space, first + i, observedAt));
        }

        return batch;
    }

    /// <summary>Validated indicators as the gateway would store them (for the baselines and pre-population).</summary>
    public static List<Indicator> Indicators(string space, long first, int count, string nodeId)
    {
        var validator = new SightingValidator(TimeProvider.System);
        var observedAt = DateTimeOffset.UtcNow.AddMinutes(-5);
        var indicators = new List<Indicator>(count);
        for (var i = 0; i < count; i++)
        {
            var outcome = validator.Validate(Sighting(space, first + i, observedAt), nodeId, "sensor-1");
            indicators.Add(outcome.Indicator ?? throw new InvalidOperationException("generated sighting rejected: " + outcome.Error));
        }

        return indicators;
    }

    private static int StableHash(string text)
    {
        var hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        return BinaryPrimitives.ReadInt32BigEndian(hash);
    }

    private static (IndicatorType Type, string Value) Value(string space, long serial)
    {
        var n = serial.ToString(CultureInfo.InvariantCulture);
        switch (serial % 4)
        {
            case 0:
                return (IndicatorType.Domain, $"c2-{n}.{space}.example");
            case 1:
                // IPv6 in fd00::/8 (unique-local): the space's hash picks a /48, the serial the host, so spaces never
                // collide and every value is new.
                var h = (uint)StableHash(space);
                var host = serial / 4;
                return (IndicatorType.Ipv6, string.Create(CultureInfo.InvariantCulture,
                    $"fd{h >> 24:x2}:{(h >> 8) & 0xFFFF:x4}:{h & 0xFF:x2}00::{(host >> 16) & 0xFFFF:x}:{host & 0xFFFF:x}"));
            case 2:
                return (IndicatorType.Url, $"http://dl.{space}.example/payload/{n}.bin?id={n}");
            default:
                return (IndicatorType.Sha256, Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(space + "/" + n))));
        }
    }
}
