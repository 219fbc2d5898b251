using CyberCoop.Contracts.V1;
using Google.Protobuf;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// An agent that keeps submitting small batches of new indicators to a gateway until stopped, and remembers every
/// indicator the gateway acknowledged as accepted (what the gateway has promised not to lose).
/// </summary>
internal sealed class IngestLoad : IAsyncDisposable
{
    private const int PerBatch = 20;

    private readonly HashSet<string> _acknowledged = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private int _batches;

    private IngestLoad(TestFederation federation, string code, string prefix) =>
        _run = Task.Run(() => RunAsync(federation, code, prefix));

    /// <summary>Batches acknowledged so far.</summary>
    public int Batches => Volatile.Read(ref _batches);

    public static IngestLoad Start(TestFederation federation, string code, string prefix) => new(federation, code, prefix);

    /// <summary>Waits until <paramref name="batches"/> batches in all were acknowledged.</summary>
    public Task WaitForBatchesAsync(int batches) =>
        WaitUntilAsync(() => Task.FromResult(Batches >= batches || _run.IsCompleted), $"{batches} batches acknowledged");

    /// <summary>Stops after the batch in flight is answered; returns the ids of every acknowledged indicator.</summary>
    public async Task<IReadOnlySet<string>> StopAsync()
    {
        await _stop.CancelAsync();
        await _run;
        return _acknowledged;
    }

    private async Task RunAsync(TestFederation federation, string code, string prefix)
    {
        using var call = federation.IngestClient(code).Submit();
        for (var b = 0; !_stop.IsCancellationRequested; b++)
        {
            var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8($"{prefix}-{b}") };
            for (var i = 0; i < PerBatch; i++)
            {
                batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{b}-{i}.load.example"));
            }

            await call.RequestStream.WriteAsync(batch);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            foreach (var item in call.ResponseStream.Current.Items)
            {
                Assert.Equal(ItemOutcome.Accepted, item.Outcome);
                _acknowledged.Add(item.IndicatorId);
            }

            Interlocked.Increment(ref _batches);
            await Task.Delay(20); // pacing: a steady offered load, not a flood
        }

        await call.RequestStream.CompleteAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        try
        {
            await _run;
        }
        catch (Exception)
        {
            // Already reported by StopAsync or the test.
        }

        _stop.Dispose();
    }
}
