using System.Globalization;
using System.Net;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Pipeline;

/// <summary>
/// Properties (issue 20, item 4) of the three rules every shared indicator passes: normalisation (idempotent and
/// canonical: every spelling of one observable gives one value), merge (a marking is never lowered, and the result does
/// not depend on the order sources arrive in) and outbound policy (RED reaches only a peer named for RED).
/// </summary>
public sealed class PipelinePropertyTests
{
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(500);
    private static readonly Tlp[] Markings = [Tlp.Clear, Tlp.Green, Tlp.Amber, Tlp.AmberStrict, Tlp.Red];
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly IndicatorType[] Types =
    [
        IndicatorType.Ipv4, IndicatorType.Ipv6, IndicatorType.Cidr, IndicatorType.Domain, IndicatorType.Url, IndicatorType.Email,
        IndicatorType.Md5, IndicatorType.Sha1, IndicatorType.Sha256, IndicatorType.Sha512, IndicatorType.Ja3, IndicatorType.Ja4,
        IndicatorType.Asn, IndicatorType.Cve,
    ];

    // ---- normalisation ------------------------------------------------------------------------------------------

    /// <summary>Values near the grammar of each type (mixed case, padding, IDN, dots, ports, ...) and arbitrary strings.</summary>
    private static Gen<string> RawValues()
    {
        var pieces = Gen.Elements(
            "example", "EXAMPLE", "Bücher", "xn--bcher-kva", "evil", "c2_node", "a", "0", "00", "192", "168", "255", "256",
            "2001", "DB8", "db8", "ffff", "::", ":", ".", "..", "/", "//", "@", "%7E", "%2F", "%", "%%", "%41", "%4", "?", "#", "http://", "HTTPS://",
            "ftp://", ":80", ":443", ":8080", "AS", "as", "CVE-", "cve-", "2024", "-", "_", " ", "\t", "[", "]", "d41d8cd98f00b204e9800998ecf8427e",
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "t13d1516h2", "8daaf6152771", "ß", "İ", "\u200b", "com", "ORG", "/24", "/64");
        var composed = Gen.Choose(1, 8).SelectMany(n => Gen.ArrayOf(pieces, n)).Select(p => string.Concat(p));
        return Gen.Frequency((4, composed), (1, ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty)));
    }

    [Fact]
    public void Normalising_a_normalised_value_gives_it_back_unchanged()
    {
        var property = Prop.ForAll(Gen.Elements(Types).ToArbitrary(), RawValues().ToArbitrary(), (type, raw) =>
        {
            var first = IndicatorNormalizer.Normalize(type, raw);
            if (!first.Ok)
            {
                return !string.IsNullOrEmpty(first.Error);
            }

            var second = IndicatorNormalizer.Normalize(type, first.Value);
            return second.Ok && second.Value == first.Value;
        });
        Check.One(Runs, property);
    }

    [Fact]
    public void A_url_path_of_escapes_dots_and_stray_percent_signs_normalises_to_a_fixed_point()
    {
        // The shape the normalize fuzz target found (session 8): a '%' that starts no escape beside valid escapes.
        var piece = Gen.Elements("a", "B", "%", "%%", "%41", "%4", "%7e", "%2F", "%20", "%C3%BC", "/", "..", ".", "?", "=", "~");
        var urls = Gen.Choose(1, 10).SelectMany(n => Gen.ArrayOf(piece, n))
            .SelectMany(p => Gen.Elements("http://evil.example/", "HTTPS://Evil.Example:443/x/", "ftp://files.example/")
                .Select(prefix => prefix + string.Concat(p)));
        var property = Prop.ForAll(urls.ToArbitrary(), url =>
        {
            var first = IndicatorNormalizer.Normalize(IndicatorType.Url, url);
            if (!first.Ok)
            {
                return !string.IsNullOrEmpty(first.Error);
            }

            var second = IndicatorNormalizer.Normalize(IndicatorType.Url, first.Value);
            return second.Ok && second.Value == first.Value;
        });
        Check.One(Runs, property);
    }

    [Fact]
    public void Every_spelling_of_an_address_normalises_to_one_canonical_value()
    {
        var property = Prop.ForAll(Gen.ArrayOf(Gen.Choose(0, 255), 16).ToArbitrary(), Gen.Elements(true, false).ToArbitrary(), (bytes, v4) =>
        {
            var address = new IPAddress(v4 ? [.. bytes[..4].Select(b => (byte)b)] : [.. bytes.Select(b => (byte)b)]);
            var type = v4 ? IndicatorType.Ipv4 : IndicatorType.Ipv6;
            var canonical = IndicatorNormalizer.Normalize(type, address.ToString());
            var words = v4 ? [] : Enumerable.Range(0, 8).Select(i => (bytes[2 * i] << 8) | bytes[(2 * i) + 1]).ToArray();
            string[] spellings = v4
                ? [$" {address}\t"]
                : [
                    string.Join(':', words.Select(w => w.ToString("X4", CultureInfo.InvariantCulture))),
                    string.Join(':', words.Select(w => w.ToString("x", CultureInfo.InvariantCulture))),
                    address.ToString().ToUpperInvariant(),
                ];
            return canonical.Ok && canonical.Value == address.ToString() &&
                spellings.All(s => IndicatorNormalizer.Normalize(type, s) is { Ok: true } r && r.Value == canonical.Value);
        });
        Check.One(Runs, property);
    }

    [Fact]
    public void Case_and_trailing_dot_do_not_make_a_different_domain_or_hash()
    {
        var label = Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789-".ToCharArray()), n))
            .Select(c => new string(c).Trim('-')).Where(l => l.Length > 0);
        var domains = Gen.Choose(2, 4).SelectMany(n => Gen.ArrayOf(label, n)).Select(l => string.Join('.', l));
        var property = Prop.ForAll(domains.ToArbitrary(), Gen.ArrayOf(Gen.Choose(0, 255), 32).ToArbitrary(), (domain, hash) =>
        {
            var lower = IndicatorNormalizer.Normalize(IndicatorType.Domain, domain);
            var upper = IndicatorNormalizer.Normalize(IndicatorType.Domain, domain.ToUpperInvariant() + ".");
            var hex = Convert.ToHexString([.. hash.Select(b => (byte)b)]);
            var hashUpper = IndicatorNormalizer.Normalize(IndicatorType.Sha256, hex);
            var hashLower = IndicatorNormalizer.Normalize(IndicatorType.Sha256, " " + hex.ToLowerInvariant());
            return lower.Ok == upper.Ok && (!lower.Ok || lower.Value == upper.Value) &&
                hashUpper.Ok && hashLower.Ok && hashUpper.Value == hashLower.Value && hashUpper.Value == hex.ToLowerInvariant();
        });
        Check.One(Runs, property);
    }

    // ---- merge --------------------------------------------------------------------------------------------------

    /// <summary>One source's report of the same indicator: node, sensor, marking, confidence, count, when, tags, expiry.</summary>
    public sealed record Report(int Node, int Sensor, int Marking, int Confidence, int Count, int Minute, int Tag, int? ValidDays)
    {
        public Indicator ToIndicator()
        {
            var seen = Timestamp.FromDateTimeOffset(T0.AddMinutes(Minute));
            var indicator = new Indicator
            {
                Id = IndicatorIds.Compute(IndicatorType.Domain, "evil.example"),
                Type = IndicatorType.Domain,
                Value = "evil.example",
                Tlp = Markings[Marking],
                Confidence = (uint)Confidence,
                FirstSeen = seen,
                LastSeen = seen,
                ValidUntil = ValidDays is { } d ? Timestamp.FromDateTimeOffset(T0.AddDays(d)) : null,
            };
            indicator.Tags.Add("tag-" + Tag);
            indicator.Observations.Add(new Observation
            {
                Node = "spiffe://n" + Node + ".cybercoop/gateway/g",
                Sensor = "agent/s" + Sensor,
                Count = (uint)Count,
                Confidence = (uint)Confidence,
                FirstSeen = seen,
                LastSeen = seen,
            });
            return indicator;
        }
    }

    // Each report is seen at its own minute: the same source's latest report is then well defined whatever the order.
    private static Gen<Report[]> Reports() =>
        Gen.Choose(2, 7).SelectMany(n => Gen.ArrayOf(
            from node in Gen.Choose(0, 2)
            from sensor in Gen.Choose(0, 1)
            from marking in Gen.Choose(0, 4)
            from confidence in Gen.Choose(0, 100)
            from count in Gen.Choose(1, 50)
            from tag in Gen.Choose(0, 3)
            from valid in Gen.Frequency((1, Gen.Constant<int?>(null)), (3, Gen.Choose(1, 400).Select(d => (int?)d)))
            select new Report(node, sensor, marking, confidence, count, 0, tag, valid), n))
        .Select(reports => reports.Select((r, i) => r with { Minute = i * 7 }).ToArray());

    private static Indicator MergeAll(IEnumerable<Report> reports) =>
        reports.Select(r => r.ToIndicator()).Aggregate((merged, next) => IndicatorMerger.Merge(merged, next));

    [Fact]
    public void A_merge_never_lowers_the_marking_of_any_source()
    {
        var property = Prop.ForAll(Reports().ToArbitrary(), reports =>
        {
            var merged = MergeAll(reports);
            return merged.Tlp == reports.Max(r => Markings[r.Marking]);
        });
        Check.One(Runs, property);
    }

    [Fact]
    public void Merging_the_same_reports_in_any_order_gives_the_same_record()
    {
        var property = Prop.ForAll(Reports().ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (reports, seed) =>
        {
            var shuffled = reports.ToArray();
            new Random(seed).Shuffle(shuffled);
            var a = MergeAll(reports);
            var b = MergeAll(shuffled);
            return Summary(a) == Summary(b);
        });
        Check.One(Runs, property);
    }

    /// <summary>Everything a merge decides, with the observation list and tags as sets.</summary>
    private static string Summary(Indicator i) =>
        string.Join('|',
            i.Tlp, i.Confidence, i.FirstSeen, i.LastSeen, i.ValidUntil?.ToString() ?? "none",
            string.Join(',', i.Tags.Order(StringComparer.Ordinal)),
            string.Join(',', i.Observations.Select(o => $"{o.Node}/{o.Sensor}:{o.Count}:{o.Confidence}:{o.FirstSeen}:{o.LastSeen}").Order(StringComparer.Ordinal)));

    // ---- outbound policy ----------------------------------------------------------------------------------------

    public sealed record PolicyCase(int Marking, bool AllowRed, int Ceiling, int Confidence, int MinConfidence, bool Typed, bool Embargo)
    {
        internal OutboundPolicy Policy => new()
        {
            TlpCeiling = Ceiling < Markings.Length ? Markings[Ceiling] : (Tlp)99,
            AllowRed = AllowRed,
            MinConfidence = MinConfidence,
            AllowedTypes = Typed ? [IndicatorType.Domain] : [],
            Embargo = Embargo ? TimeSpan.FromMinutes(1) : TimeSpan.Zero,
            Redact = [],
        };

        public Indicator Indicator => new()
        {
            Id = IndicatorIds.Compute(IndicatorType.Domain, "evil.example"),
            Type = IndicatorType.Domain,
            Value = "evil.example",
            // 5 and 6: a marking this build does not know (handled as RED) and an unset one.
            Tlp = Marking < Markings.Length ? Markings[Marking] : Marking == 5 ? (Tlp)42 : Tlp.Unspecified,
            Confidence = (uint)Confidence,
            FirstSeen = Timestamp.FromDateTimeOffset(T0.AddDays(-1)),
        };
    }

    [Fact]
    public void No_decision_shares_red_with_a_peer_not_named_for_red()
    {
        var cases =
            from marking in Gen.Choose(0, 6)
            from allowRed in Gen.Elements(true, false)
            from ceiling in Gen.Choose(0, 5)
            from confidence in Gen.Choose(0, 100)
            from min in Gen.Choose(0, 100)
            from typed in Gen.Elements(true, false)
            from embargo in Gen.Elements(true, false)
            select new PolicyCase(marking, allowRed, ceiling, confidence, min, typed, embargo);
        var evaluator = new OutboundPolicyEvaluator();
        var property = Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var policy = c.Policy;
            var indicator = c.Indicator;
            var decision = evaluator.Evaluate(indicator, policy, T0);
            var fast = OutboundPolicyEvaluator.Decide(indicator, policy, T0, out _);
            var treatedAsRed = indicator.Tlp is not (Tlp.Clear or Tlp.Green or Tlp.Amber or Tlp.AmberStrict);
            var namedForRed = policy.AllowRed && policy.TlpCeiling == Tlp.Red;
            var leaks = treatedAsRed && !namedForRed && (decision.Shared || fast == OutboundDecision.SharedReason);
            var redactedKeepsMarking = !decision.Shared || decision.Redacted!.Tlp == indicator.Tlp;
            return !leaks && redactedKeepsMarking && decision.Shared == (fast == OutboundDecision.SharedReason);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), property);
    }
}
