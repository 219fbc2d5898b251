using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>Hostile or broken input from an agent gets a clear error; the rest of the batch is stored and the node keeps serving.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee");
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Bad_items_get_per_item_reasons_and_the_good_ones_are_stored()
    {
        var absurdPast = Sighting(IndicatorType.Domain, "old.example");
        absurdPast.ObservedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(1971, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var absurdFuture = Sighting(IndicatorType.Domain, "future.example");
        absurdFuture.ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddYears(5));
        var unknownType = Sighting((IndicatorType)99, "whatever");
        var unknownTlp = Sighting(IndicatorType.Domain, "tlp.example");
        unknownTlp.Tlp = (Tlp)42;

        var result = await _f.IngestAsync("ee",
            Sighting(IndicatorType.Ipv4, "203.0.113.9"),
            Sighting(IndicatorType.Ipv4, "999.1.1.1"),
            Sighting(IndicatorType.Domain, ""),
            Sighting(IndicatorType.Sha256, "abc"),
            Sighting(IndicatorType.Domain, new string('a', 3000) + ".example"),
            Sighting(IndicatorType.Domain, "conf.example", confidence: 150),
            unknownType,
            unknownTlp,
            absurdPast,
            absurdFuture,
            Sighting(IndicatorType.Url, "https://Good.Example:443/a"));

        Assert.Equal(11, result.Items.Count);
        Assert.Equal(ItemOutcome.Accepted, result.Items[0].Outcome);
        Assert.Equal(ItemOutcome.Accepted, result.Items[10].Outcome);
        for (var i = 1; i <= 9; i++)
        {
            Assert.Equal(ItemOutcome.Rejected, result.Items[i].Outcome);
            Assert.False(string.IsNullOrWhiteSpace(result.Items[i].Reason), $"item {i} has no reason");
            Assert.Equal((uint)i, result.Items[i].Index);
        }

        Assert.Contains("value", result.Items[1].Reason, StringComparison.Ordinal);
        Assert.Contains("confidence", result.Items[5].Reason, StringComparison.Ordinal);
        Assert.Contains("type", result.Items[6].Reason, StringComparison.Ordinal);
        Assert.Contains("tlp", result.Items[7].Reason, StringComparison.Ordinal);
        Assert.Contains("observed_at", result.Items[8].Reason, StringComparison.Ordinal);
        Assert.Equal(2, await _f["ee"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None));
        Assert.Equal(9, _f["ee"].Node!.Runtime.Metrics.SightingsRejected);
    }

    [Fact]
    public async Task Ingest_counters_are_published_on_the_gateway_meter()
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, "203.0.113.10"), Sighting(IndicatorType.Ipv4, "not-an-ip"));
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        // Other test classes run nodes with the same id in this process at the same time: listen to this node's meter instance only.
        var meter = _f["ee"].Node!.Services.GetRequiredService<Gateway.Hosting.GatewayMeter>().Meter;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "node" && (string?)tag.Value == _f["ee"].GatewayId)
                {
                    values[instrument.Name] = value;
                }
            }
        });
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.Equal(1, values["cybercoop.sightings.ingested"]);
        Assert.Equal(1, values["cybercoop.sightings.rejected"]);
        Assert.Equal(0, values["cybercoop.calls.denied"]);
    }

    [Fact]
    public async Task Oversized_batch_is_refused_with_the_limit_named_and_the_node_keeps_serving()
    {
        using var call = _f.IngestClient("ee").Submit();
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8("too-many") };
        for (var i = 0; i < 5001; i++)
        {
            batch.Sightings.Add(new Sighting { Type = IndicatorType.Ipv4, Value = "192.0.2.1" });
        }

        await call.RequestStream.WriteAsync(batch);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("5000", error.Status.Detail, StringComparison.Ordinal);
        var after = await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "still-serving.example"));
        Assert.Equal(ItemOutcome.Accepted, after.Items[0].Outcome);
    }

    [Fact]
    public async Task Oversized_message_is_refused_and_the_node_keeps_serving()
    {
        using var call = _f.IngestClient("ee").Submit();
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8("huge") };
        batch.Sightings.Add(new Sighting { Type = IndicatorType.Domain, Value = new string('x', 5 * 1024 * 1024) });

        try
        {
            await call.RequestStream.WriteAsync(batch);
        }
        catch (RpcException)
        {
            // The server may reset the stream while the client is still writing; its status follows below.
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        var after = await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "still-serving-2.example"));
        Assert.Equal(ItemOutcome.Accepted, after.Items[0].Outcome);
    }

    [Fact]
    public async Task Empty_or_missing_batch_id_is_refused()
    {
        using var call = _f.IngestClient("ee").Submit();
        await call.RequestStream.WriteAsync(new IngestBatch());

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("batch_id", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Re_sent_batch_is_answered_from_its_first_commit_and_stored_once()
    {
        using var call = _f.IngestClient("ee").Submit();
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8("resend-1") };
        batch.Sightings.Add(Sighting(IndicatorType.Domain, "resent.example"));

        await call.RequestStream.WriteAsync(batch);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var first = call.ResponseStream.Current;
        await call.RequestStream.WriteAsync(batch);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var second = call.ResponseStream.Current;

        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(first.Items, second.Items);
        var stored = await _f.GetAsync("ee", IndicatorType.Domain, "resent.example");
        Assert.Equal(1u, Assert.Single(stored!.Observations).Count);
    }
}
