using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;

namespace CyberCoop.Benchmarks.Agent;

/// <summary>
/// Suricata EVE parsing and mapping to sightings on one core, reported per line
/// (OperationsPerInvoke), so lines/s = 1 s / Mean. <c>RealMix</c> is the real EVE file
/// (tests/samples/suricata: 2,325 lines, 5% alerts, the rest flow/dns/tls/...); <c>AlertsOnly</c> is every
/// line an alert with addresses, TLS SNI, JA3/JA3S (the worst case: every line maps to sightings); <c>RealAlerts</c>
/// is only the alert lines of the real file. Each group has its own baseline, a plain <see cref="Utf8JsonReader"/>
/// pass over the same bytes (the floor of any JSON parser). The before/after pair of the all-alert work
/// (docs/agent-performance.md) was measured at commit ed743f1, which carried a frozen copy of the previous parser.
/// Run: dotnet run -c Release --project bench/CyberCoop.Benchmarks -- --filter '*EveParsing*'
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class EveParsingBenchmarks
{
    /// <summary>Lines per invocation.</summary>
    public const int Lines = 20_000;

    private byte[][] _mix = [];
    private byte[][] _alerts = [];
    private byte[][] _realAlerts = [];
    private ParseDiagnostics _diagnostics = new();
    private SightingEmitter _emitter = null!;
    private EveParser _parser = null!;

    [GlobalSetup]
    public void Setup()
    {
        var real = LoadRealLines() ?? SyntheticMix();
        _mix = Repeat(real, Lines);
        _alerts = Repeat([Encoding.UTF8.GetBytes(AlertLine)], Lines);
        var realAlerts = real.Where(l => l.AsSpan().IndexOf("\"event_type\":\"alert\""u8) >= 0).ToArray();
        _realAlerts = Repeat(realAlerts.Length > 0 ? realAlerts : [Encoding.UTF8.GetBytes(AlertLine)], Lines);
        _diagnostics = new ParseDiagnostics();
        var filter = new SightingFilter([System.Net.IPNetwork.Parse("172.16.0.0/12")], []);
        _emitter = new SightingEmitter(new SourceProfile { Sensor = "bench" }, filter, _diagnostics);
        _parser = new EveParser(_emitter);
    }

    [Benchmark(OperationsPerInvoke = Lines, Baseline = true)]
    [BenchmarkCategory("RealMix")]
    public int Baseline_Utf8JsonReader_RealMix() => Tokenize(_mix);

    [Benchmark(OperationsPerInvoke = Lines)]
    [BenchmarkCategory("RealMix")]
    public int RealMix() => Run(_mix);

    [Benchmark(OperationsPerInvoke = Lines, Baseline = true)]
    [BenchmarkCategory("AlertsOnly")]
    public int Baseline_Utf8JsonReader_AlertsOnly() => Tokenize(_alerts);

    [Benchmark(OperationsPerInvoke = Lines)]
    [BenchmarkCategory("AlertsOnly")]
    public int AlertsOnly() => Run(_alerts);

    [Benchmark(OperationsPerInvoke = Lines, Baseline = true)]
    [BenchmarkCategory("RealAlerts")]
    public int Baseline_Utf8JsonReader_RealAlerts() => Tokenize(_realAlerts);

    [Benchmark(OperationsPerInvoke = Lines)]
    [BenchmarkCategory("RealAlerts")]
    public int RealAlerts() => Run(_realAlerts);

    private static int Tokenize(byte[][] lines)
    {
        var tokens = 0;
        foreach (var line in lines)
        {
            var reader = new Utf8JsonReader(line);
            while (reader.Read())
            {
                tokens++;
            }
        }

        return tokens;
    }

    private int Run(byte[][] lines)
    {
        // Hand the sightings on every 1,000 lines, as the agent does with each batch.
        var count = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            _parser.ParseLine(lines[i], i + 1);
            if (i % 1000 == 999)
            {
                count += _emitter.Output.Count;
                _emitter.Output = new List<Contracts.V1.Sighting>(4096);
            }
        }

        count += _emitter.Output.Count;
        _emitter.Output = new List<Contracts.V1.Sighting>(4096);
        return count;
    }

    private static byte[][] Repeat(byte[][] source, int count) => [.. Enumerable.Range(0, count).Select(i => source[i % source.Length])];

    private static byte[][]? LoadRealLines()
    {
        var root = Environment.GetEnvironmentVariable("CYBERCOOP_TESTDATA");
        if (string.IsNullOrEmpty(root))
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CyberCoop.sln")))
            {
                dir = dir.Parent;
            }

            root = dir is null ? null : Path.Combine(dir.FullName, "..", "shared", "testdata");
        }

        var path = root is null ? null : Path.Combine(root, "sensors", "suricata", "eve-2022-02-23-nicoaller.json");
        if (path is null || !File.Exists(path))
        {
            // The same file ships in the repository's samples.
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CyberCoop.sln")))
            {
                dir = dir.Parent;
            }

            path = dir is null ? null : Path.Combine(dir.FullName, "tests", "samples", "suricata", "eve-2022-02-23-nicoaller.json");
        }

        return path is not null && File.Exists(path)
            ? [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(Encoding.UTF8.GetBytes)]
            : null;
    }

    private static byte[][] SyntheticMix()
    {
        var flow = """{"timestamp":"2022-02-23T19:22:27.932253+0100","flow_id":1056033596492436,"event_type":"flow","src_ip":"172.16.0.131","src_port":49180,"dest_ip":"23.218.224.154","dest_port":80,"proto":"TCP","app_proto":"http","flow":{"pkts_toserver":6,"pkts_toclient":4,"bytes_toserver":508,"bytes_toclient":594,"start":"2022-02-23T19:22:27.871337+0100","end":"2022-02-23T19:22:27.997713+0100","age":0,"state":"closed","reason":"timeout","alerted":false},"tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}""";
        var lines = Enumerable.Repeat(flow, 19).Append(AlertLine);
        return [.. lines.Select(Encoding.UTF8.GetBytes)];
    }

    private const string AlertLine = """{"timestamp":"2022-02-23T19:24:44.045266+0100","flow_id":969019715473182,"pcap_cnt":4685,"event_type":"alert","src_ip":"172.16.0.149","src_port":49748,"dest_ip":"135.148.121.246","dest_port":8080,"proto":"TCP","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2028765,"rev":2,"signature":"ET JA3 Hash - [Abuse.ch] Possible Dridex","category":"Unknown Traffic","severity":3,"metadata":{"confidence":["Low"],"created_at":["2019_10_14"],"updated_at":["2019_10_29"]}},"tls":{"subject":"C=GB, ST=London, L=London, O=Global Security, OU=IT Department, CN=example.com","issuerdn":"C=GB, ST=London, L=London, O=Global Security, OU=IT Department, CN=example.com","serial":"41:64:71:4E:DE:66:D1:28:BD:26:D3:7D:61:29:E4:64:A0:8F:67:0E","fingerprint":"69:2d:0e:e7:c1:ce:14:93:e5:24:a8:e8:e9:83:0d:0b:07:e8:20:db","sni":"evil.example.com","version":"TLS 1.2","notbefore":"2022-01-31T21:59:24","notafter":"2023-01-31T21:59:24","ja3":{"hash":"51c64c77e60f3980eea90869b68c58a8","string":"771,49196-49195-49200-49199-49188-49187-49192-49191-49162-49161-49172-49171-157-156-61-60-53-47-10,10-11-13-35-23-65281,29-23-24,0"},"ja3s":{"hash":"ec74a5c51106f0419184d0dd08fb05bc","string":"771,49200,65281-11-35-23"}},"app_proto":"tls","flow":{"pkts_toserver":4,"pkts_toclient":3,"bytes_toserver":377,"bytes_toclient":1544,"start":"2022-02-23T19:24:43.773918+0100"}}""";
}
