using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Security;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// node.limits.callerMaxConnections on a real gateway: one agent certificate holds at most that many mutual-TLS
/// connections at once. A connection beyond it is closed after its handshake, before its first call, and the refusal
/// is counted and audited; another agent is not affected, and the certificate is served again once it holds fewer.
/// </summary>
public sealed class CallerConnectionLimitTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee");
        _f["ee"].EditNode(n => n with { Limits = new LimitsConfig { CallerMaxConnections = 2 } });
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_certificate_beyond_its_connections_is_refused_another_is_served_and_a_freed_slot_is_taken_again()
    {
        var ee = _f["ee"].Node!;
        var limits = ee.Services.GetRequiredService<CallerLimits>();
        using var hostile = _f.IssueAgent("ee", "hostile");
        var hostileId = $"spiffe://{_f["ee"].Domain}/agent/hostile";

        // Two connections of one certificate, each holding a stream (each client is its own connection).
        using var firstChannel = _f["ee"].OpenChannel(hostile);
        using var first = new Ingest.IngestClient(firstChannel).Submit();
        await SubmitAsync(first, "first");
        using var second = _f.IngestClient("ee", hostile).Submit();
        await SubmitAsync(second, "second");

        // A third is closed before its first call is answered.
        var third = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = _f.IngestClient("ee", hostile).Submit();
            await SubmitAsync(call, "third");
        });
        Assert.Equal(StatusCode.Unavailable, third.StatusCode);
        Assert.Equal(1, limits.Refused[(CallerLimits.CallerMaxConnections, hostileId)]);
        Assert.False(await StoredAsync("third"));

        // Another certificate is not limited by the first one's connections.
        using (var other = _f.IngestClient("ee").Submit())
        {
            await SubmitAsync(other, "other");
        }

        // The two held connections keep working.
        await SubmitAsync(first, "first-again");
        await SubmitAsync(second, "second-again");

        // Closing one frees its slot: the certificate's next connection is served.
        await first.RequestStream.CompleteAsync();
        Assert.False(await first.ResponseStream.MoveNext(CancellationToken.None));
        first.Dispose();
        await firstChannel.ShutdownAsync();
        firstChannel.Dispose();
        await WaitUntilAsync(async () =>
        {
            try
            {
                using var call = _f.IngestClient("ee", hostile).Submit();
                await SubmitAsync(call, "after");
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                return false;
            }
        }, "a connection of the certificate is served again once it holds fewer than the limit");

        Assert.True(await StoredAsync("first") && await StoredAsync("second") && await StoredAsync("other") && await StoredAsync("after"));

        // Audited as a rate limit of the connection, naming the limit and the caller.
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in ee.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry is { Kind: "rate-limited", Decision: "refused", Subject: "connection" } && entry.Actor == hostileId
                    && entry.Reason.StartsWith($"{CallerLimits.CallerMaxConnections}: {hostileId} already holds 2 connections", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }, "the refused connection is audited");
    }

    private static async Task SubmitAsync(AsyncDuplexStreamingCall<IngestBatch, IngestResult> call, string name)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8(name) };
        batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{name}.connection-limit.example"));
        await call.RequestStream.WriteAsync(batch);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(ItemOutcome.Accepted, Assert.Single(call.ResponseStream.Current.Items).Outcome);
    }

    private async Task<bool> StoredAsync(string name) =>
        await _f.GetAsync("ee", IndicatorType.Domain, $"{name}.connection-limit.example") is not null;
}
