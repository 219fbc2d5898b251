using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using Google.Protobuf;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Receiver and ingest pipelining: with many envelopes or batches in flight on one stream, answers come back in
/// order, each after its own commit, commits happen in arrival order, and nothing is stored twice.
/// </summary>
public sealed class PipeliningTests : IAsyncLifetime
{
    private TestFederation _f = null!;
    private CraftedEnvelopes _ee = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        await _f.StartAsync();
        _ee = new CraftedEnvelopes(_f, "ee", "fi");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Acks_come_back_in_envelope_order_with_many_envelopes_in_flight()
    {
        var crafted = new List<CraftedEnvelopes.Crafted>();
        for (var i = 0; i < 24; i++)
        {
            crafted.Add(await _ee.CraftAsync(indicators: 50));
        }

        var envelopes = crafted.Select(c => _ee.Seal(c)).ToList();

        var acks = await _ee.ExchangeAsync(envelopes);

        Assert.Equal(envelopes.Select(CraftedEnvelopes.EnvelopeIdOf), acks.Select(a => Convert.ToHexStringLower(a.EnvelopeId.Span)));
        Assert.All(acks, a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.All(acks, a => Assert.NotNull(a.Receipt));
        await AssertStoredAsync(crafted);
        Assert.Equal(crafted.Select(BundleSubject), await ReceivedBundlesInCommitOrderAsync());
    }

    [Fact]
    public async Task Same_envelope_twice_inside_the_window_is_answered_duplicate_and_stored_once()
    {
        var crafted = new List<CraftedEnvelopes.Crafted>();
        var envelopes = new List<Envelope>();
        for (var i = 0; i < 6; i++)
        {
            var c = await _ee.CraftAsync(indicators: 20);
            var envelope = _ee.Seal(c);
            crafted.Add(c);
            // Back to back: the copy's replay check runs while the first is still being checked or committed.
            envelopes.Add(envelope);
            envelopes.Add(envelope.Clone());
        }

        var acks = await _ee.ExchangeAsync(envelopes);

        Assert.Equal(envelopes.Select(CraftedEnvelopes.EnvelopeIdOf), acks.Select(a => Convert.ToHexStringLower(a.EnvelopeId.Span)));
        for (var i = 0; i < acks.Count; i += 2)
        {
            Assert.Equal(AckStatus.Accepted, acks[i].Status);
            Assert.Equal(AckStatus.Duplicate, acks[i + 1].Status);
            Assert.StartsWith("duplicate", acks[i + 1].Reason, StringComparison.Ordinal);
        }

        await AssertStoredAsync(crafted);
        Assert.Equal(crafted.Select(BundleSubject), await ReceivedBundlesInCommitOrderAsync());
    }

    [Fact]
    public async Task Tampered_forged_and_stale_envelopes_in_a_pipelined_run_are_rejected_with_their_reasons_and_the_others_accepted_in_order()
    {
        using var impostorKey = SigningKeyPair.Generate(Suite.X25519Aes256GcmEd25519);
        var crafted = new List<CraftedEnvelopes.Crafted>();
        var envelopes = new List<Envelope>();
        var expected = new Dictionary<int, string>
        {
            // Unknown signing key: the receiver fetches ee's trust bundle over the network before refusing, while the
            // envelopes behind it finish their checks first and must still commit and be answered after it.
            [1] = "origin-key-unknown",
            [5] = "decrypt-failed",
            [8] = "stale",
        };
        for (var i = 0; i < 12; i++)
        {
            var c = await _ee.CraftAsync(indicators: 20, signingKey: i == 1 ? impostorKey : null);
            crafted.Add(c);
            envelopes.Add(i switch
            {
                5 => CraftedEnvelopes.Tamper(_ee.Seal(c)),
                8 => _ee.Seal(c, sentAt: DateTimeOffset.UtcNow.AddHours(-2)),
                _ => _ee.Seal(c),
            });
        }

        var acks = await _ee.ExchangeAsync(envelopes);

        Assert.Equal(envelopes.Select(CraftedEnvelopes.EnvelopeIdOf), acks.Select(a => Convert.ToHexStringLower(a.EnvelopeId.Span)));
        for (var i = 0; i < acks.Count; i++)
        {
            if (expected.TryGetValue(i, out var reason))
            {
                Assert.Equal(AckStatus.Rejected, acks[i].Status);
                Assert.StartsWith(reason, acks[i].Reason, StringComparison.Ordinal);
                Assert.Null(acks[i].Receipt);
            }
            else
            {
                Assert.Equal(AckStatus.Accepted, acks[i].Status);
            }
        }

        var accepted = crafted.Where((_, i) => !expected.ContainsKey(i)).ToList();
        await AssertStoredAsync(accepted);
        foreach (var id in crafted.Where((_, i) => expected.ContainsKey(i)).SelectMany(c => c.IndicatorIds))
        {
            Assert.Null(await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(id, CancellationToken.None));
        }

        var order = await ReceivedBundlesInCommitOrderAsync();
        TestContext.Current.TestOutputHelper?.WriteLine("expected: " + string.Join(" ", crafted.Select(BundleSubject)) + "\nactual:   " + string.Join(" ", order));
        Assert.Equal(accepted.Select(BundleSubject), order);
    }

    [Fact]
    public async Task Envelopes_in_flight_when_the_stream_breaks_are_stored_once_and_their_resend_is_answered_from_the_first_commit()
    {
        var crafted = new List<CraftedEnvelopes.Crafted>();
        for (var i = 0; i < 16; i++)
        {
            crafted.Add(await _ee.CraftAsync(indicators: 50));
        }

        var envelopes = crafted.Select(c => _ee.Seal(c)).ToList();
        var acked = new List<Ack>();
        using (var certificate = _f.LoadCertificate("ee", "gateway"))
        using (var call = _f.FederationClient("fi", certificate).Exchange(deadline: DateTime.UtcNow.AddSeconds(60)))
        {
            await call.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = _f["ee"].GatewayId } });
            foreach (var envelope in envelopes)
            {
                await call.RequestStream.WriteAsync(new ExchangeRequest { Envelope = envelope });
            }

            // The sender goes away after three acks, with the rest in flight (read, checking or committing).
            while (acked.Count < 3 && await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                acked.Add(call.ResponseStream.Current.Ack);
            }
        }

        // Re-sent as the forwarder does after reconnecting: same envelope ids, fresh sealing.
        var resent = await _ee.ExchangeAsync(crafted.Select((c, i) => Reseal(envelopes[i], c)).ToList());

        Assert.Equal(envelopes.Take(3).Select(CraftedEnvelopes.EnvelopeIdOf), acked.Select(a => Convert.ToHexStringLower(a.EnvelopeId.Span)));
        Assert.All(acked, a => Assert.Equal(AckStatus.Accepted, a.Status));
        Assert.Equal(envelopes.Select(CraftedEnvelopes.EnvelopeIdOf), resent.Select(a => Convert.ToHexStringLower(a.EnvelopeId.Span)));
        Assert.All(resent.Take(3), a => Assert.Equal(AckStatus.Duplicate, a.Status));
        Assert.All(resent, a => Assert.NotEqual(AckStatus.Rejected, a.Status));
        await AssertStoredAsync(crafted);
        Assert.Equal(crafted.Select(BundleSubject), await ReceivedBundlesInCommitOrderAsync());
    }

    private static Envelope Reseal(Envelope original, CraftedEnvelopes.Crafted crafted)
    {
        var header = EnvelopeCrypto.ParseHeader(original);
        header.SentAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        return EnvelopeCrypto.Seal(header, crafted.SignedBundle, crafted.RecipientKey);
    }

    [Fact]
    public async Task Ingest_stream_with_many_batches_in_flight_is_answered_in_order_and_a_resent_batch_from_its_first_commit()
    {
        var batches = Enumerable.Range(0, 20).Select(b => Batch($"pipelined-{b}", 50)).ToList();
        // Batch 3 re-sent right behind itself (inside the window) and again much later.
        batches[4] = batches[3].Clone();
        batches[15] = batches[3].Clone();

        var results = await IngestAllAsync(batches);

        Assert.Equal(batches.Select(b => b.BatchId), results.Select(r => r.BatchId));
        for (var b = 0; b < results.Count; b++)
        {
            Assert.Equal(b is 4 or 15, results[b].Duplicate);
            Assert.Equal(50, results[b].Items.Count);
            Assert.All(results[b].Items, item => Assert.Equal(ItemOutcome.Accepted, item.Outcome));
        }

        Assert.Equal(results[3].Items, results[4].Items);
        Assert.Equal(results[3].Items, results[15].Items);
        foreach (var sighting in batches[3].Sightings)
        {
            var stored = await _f.GetAsync("ee", sighting.Type, sighting.Value);
            Assert.NotNull(stored);
            Assert.Equal(1u, Assert.Single(stored.Observations).Count);
        }

        Assert.Equal(18 * 50, await _f["ee"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Malformed_batch_in_a_pipelined_stream_ends_it_after_the_batches_before_it_are_answered()
    {
        var batches = Enumerable.Range(0, 6).Select(b => Batch($"malformed-run-{b}", 20)).ToList();
        batches[3].BatchId = ByteString.Empty;
        using var call = _f.IngestClient("ee").Submit(deadline: DateTime.UtcNow.AddSeconds(60));
        var writes = WriteIgnoringRefusalAsync(call, batches);

        var answered = new List<IngestResult>();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                answered.Add(call.ResponseStream.Current);
            }
        });
        await writes;

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("batch_id", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(batches.Take(3).Select(b => b.BatchId), answered.Select(r => r.BatchId));
        Assert.NotNull(await _f.GetAsync("ee", IndicatorType.Domain, batches[2].Sightings[0].Value));
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, batches[4].Sightings[0].Value));
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, batches[5].Sightings[0].Value));
    }

    private static IngestBatch Batch(string prefix, int sightings)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
        for (var i = 0; i < sightings; i++)
        {
            batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{i}.example"));
        }

        return batch;
    }

    private async Task<List<IngestResult>> IngestAllAsync(IReadOnlyList<IngestBatch> batches)
    {
        using var call = _f.IngestClient("ee").Submit(deadline: DateTime.UtcNow.AddSeconds(60));
        var writes = Task.Run(async () =>
        {
            foreach (var batch in batches)
            {
                await call.RequestStream.WriteAsync(batch);
            }

            await call.RequestStream.CompleteAsync();
        });
        var results = new List<IngestResult>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            results.Add(call.ResponseStream.Current);
        }

        await writes;
        return results;
    }

    private static Task WriteIgnoringRefusalAsync(AsyncDuplexStreamingCall<IngestBatch, IngestResult> call, IReadOnlyList<IngestBatch> batches) => Task.Run(async () =>
    {
        try
        {
            foreach (var batch in batches)
            {
                await call.RequestStream.WriteAsync(batch);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or OperationCanceledException)
        {
            // The server ended the call at the malformed batch.
        }
    });

    private static string BundleSubject(CraftedEnvelopes.Crafted crafted) => "bundle:" + Convert.ToHexStringLower(crafted.BundleId);

    /// <summary>Every indicator of <paramref name="crafted"/> is stored at fi, with the one observation it carried.</summary>
    private async Task AssertStoredAsync(IEnumerable<CraftedEnvelopes.Crafted> crafted)
    {
        foreach (var id in crafted.SelectMany(c => c.IndicatorIds))
        {
            var stored = await _f["fi"].Node!.Runtime.Store.GetIndicatorAsync(id, CancellationToken.None);
            Assert.NotNull(stored);
            Assert.Equal(1u, Assert.Single(stored.Observations).Count);
        }
    }

    /// <summary>The bundles fi accepted, in the order of their hash-chained "received" audit entries (commit order).</summary>
    private async Task<List<string>> ReceivedBundlesInCommitOrderAsync()
    {
        var subjects = new List<string>();
        await foreach (var entry in _f["fi"].Node!.Runtime.Store.Audit.TailAsync(10_000, CancellationToken.None))
        {
            if (entry.Kind == "received" && entry.Decision == "accepted")
            {
                subjects.Add(entry.Subject);
            }
        }

        return subjects;
    }
}
