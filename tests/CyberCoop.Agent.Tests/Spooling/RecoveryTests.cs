using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Agent.Spooling;
using CyberCoop.Agent.Tailing;
using CyberCoop.Agent.Tests.Tailing;
using CyberCoop.Contracts.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Agent.Tests.Spooling;

public sealed class RecoveryTests
{
    [Fact]
    public async Task Crash_after_spooling_but_before_saving_the_state_resumes_after_the_spooled_lines()
    {
        using var dir = new TempDirectory();
        var feed = dir.File("feed.jsonl");
        File.WriteAllText(feed, TailHarness.Lines(1, 10));
        var afterSix = TailHarness.Lines(1, 6).Length;
        FileCheckpoint checkpoint;
        using (var handle = File.OpenHandle(feed))
        {
            var identity = NativeFile.Identify(handle);
            var (fingerprint, length) = FileCheckpoint.ComputeFingerprint(handle);
            checkpoint = new FileCheckpoint
            {
                Source = "feed", Path = feed, Device = identity.Device, Inode = identity.Inode,
                Fingerprint = fingerprint, FingerprintLength = length, Offset = afterSix, Line = 6,
            };
        }

        var settings = Settings(dir, feed);
        using (var spool = Spool.Open(settings.SpoolDirectory, settings.SpoolMaxBytes, NullLogger.Instance))
        {
            // The batch of lines 1-6 reached the spool; the process died before the state file was written.
            await spool.AppendAsync(new IngestBatch { BatchId = Google.Protobuf.ByteString.CopyFrom(new byte[16]) }, [checkpoint], TestContext.Current.CancellationToken);
        }

        Assert.False(File.Exists(settings.StateFile));
        using var channel = GrpcChannel.ForAddress("https://127.0.0.1:9");
        await using var runner = new AgentRunner(settings, NullLoggerFactory.Instance, TimeProvider.System, new Ingest.IngestClient(channel));

        var saved = Assert.Single(TailStateStore.Load(settings.StateFile).Entries.Values);
        Assert.Equal(afterSix, saved.Offset);
        Assert.Equal(1, runner.Spool.UnacknowledgedBatches);

        using var tail = new TailHarness(feed, known: TailStateStore.Load(settings.StateFile).Entries, sourceName: "feed");
        await tail.PollAsync();
        Assert.Equal(TailHarness.Range(7, 10), tail.Values);
    }

    private static AgentSettings Settings(TempDirectory dir, string feed) => new()
    {
        Name = "a",
        TrustDomain = "ee.cybercoop",
        GatewayAddress = new Uri("https://127.0.0.1:9"),
        CertificatePath = "unused",
        KeyPath = "unused",
        RootPath = "unused",
        RootPin = "unused",
        Filter = SightingFilter.Default,
        Sources = [new SourceSettings { Name = "feed", Path = feed, Format = SourceFormat.Jsonl, Mapping = new FieldMapping { ValueField = "v" }, Profile = new SourceProfile { Sensor = "feed" } }],
        SpoolDirectory = dir.File("spool"),
        SpoolMaxBytes = 1 << 30,
        BatchMaxItems = 100,
        BatchLinger = TimeSpan.FromMilliseconds(100),
        StateFile = dir.File("state.json"),
        MaxLineBytes = 4096,
        PollInterval = TimeSpan.FromMilliseconds(50),
    };
}
