using BenchmarkDotNet.Attributes;
using CyberCoop.Benchmarks.Shared;
using CyberCoop.Contracts.V1;
using Google.Protobuf;

namespace CyberCoop.Benchmarks.Serialization;

/// <summary>
/// Protobuf cost of a bundle per size: serialize (what the origin does before signing) and parse (what the receiver
/// does after opening), for bundles of validated indicators shaped like agent output (observation with context).
/// Run: dotnet run -c Release --project bench/CyberCoop.Benchmarks -- --filter '*BundleSerialization*'
/// </summary>
[MemoryDiagnoser]
public class BundleSerializationBenchmarks
{
    private Bundle _bundle = new();
    private byte[] _bytes = [];

    [Params(1, 100, 1_000)]
    public int Indicators { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bundle = BenchBundles.Create(Indicators);
        _bytes = _bundle.ToByteArray();
    }

    [Benchmark]
    public byte[] Serialize() => _bundle.ToByteArray();

    [Benchmark]
    public Bundle Parse() => Bundle.Parser.ParseFrom(_bytes);
}
