using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using static CyberCoop.Gateway.Tests.Storage.StoreFixtures;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// The store keeps each indicator's origin view (own agents' sightings only) beside the record merged with peers'
/// content, and the outbound change feed, the embargo queue and <see cref="GatewayStore.GetOwnViewAsync"/> serve that
/// view only. Real SQLite files, reopened where persistence matters.
/// </summary>
public sealed class OriginViewStoreTests : IDisposable
{
    private const string Peer = "spiffe://lv.cybercoop/gateway/riga";
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Now);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private Task<GatewayStore> Open() => GatewayStore.OpenAsync(_dir.File("gateway.db"), _time, Ct);

    /// <summary>Ipv4(1) as a peer reported it: its own node, domain, confidence, times, marking, labels and context.</summary>
    private static Indicator FromPeer(uint confidence = 50)
    {
        var seen = Timestamp.FromDateTimeOffset(Now.AddDays(-3));
        var indicator = Ipv4(1, tlp: Tlp.Amber, confidence: confidence);
        indicator.OriginDomain = "lv.cybercoop";
        indicator.FirstSeen = seen;
        indicator.LastSeen = seen;
        indicator.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(90));
        indicator.Description = "peer note";
        indicator.Tags.Add("peer-tag");
        indicator.Sectors.Add("peer-sector");
        indicator.Observations.Clear();
        indicator.Observations.Add(new Observation { Node = Peer, Sensor = "peer-ids", Count = 7, Confidence = confidence, FirstSeen = seen, LastSeen = seen, Context = { ["peer-key"] = "peer-value" } });
        return indicator;
    }

    private static Indicator Own(uint confidence = 50, string tag = "own-tag")
    {
        var indicator = Ipv4(1, tlp: Tlp.Green, confidence: confidence);
        indicator.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(5));
        indicator.Tags.Add(tag);
        indicator.Observations[0].Context["own-key"] = "own-value";
        return indicator;
    }

    private static ReceivedEnvelope Envelope(byte n, Indicator indicator) => new()
    {
        EnvelopeId = Id(n),
        BundleId = Id(n),
        Sender = Peer,
        Origin = Peer,
        Accepted = [indicator],
    };

    [Fact]
    public async Task Own_sighting_of_a_received_indicator_is_originated_as_the_own_sighting_alone()
    {
        await using (var store = await Open())
        {
            await store.CommitReceivedAsync(Envelope(1, FromPeer()), Ct);
            await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(Own())], Ct);

            var merged = await store.GetIndicatorAsync(Ipv4(1).Id, Ct);
            Assert.Equal(75u, merged!.Confidence);
            Assert.Equal("lv.cybercoop", merged.OriginDomain);
            Assert.Equal(Own(), await store.GetOwnViewAsync(Ipv4(1).Id, Ct));
            Assert.Equal(Own(), Assert.Single(await store.ReadLocalChangesAsync(0, 10, Ct)).Indicator);
        }

        // The separate own view is durable.
        await using var reopened = await Open();
        Assert.Equal(Own(), await reopened.GetOwnViewAsync(Ipv4(1).Id, Ct));
    }

    [Fact]
    public async Task Own_view_keeps_merging_own_sightings_after_a_peers_content_arrived()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(Own(40))], Ct);
        Assert.Equal(Own(40), await store.GetOwnViewAsync(Ipv4(1).Id, Ct));

        await store.CommitReceivedAsync(Envelope(1, FromPeer(90)), Ct);
        Assert.Equal(Own(40), await store.GetOwnViewAsync(Ipv4(1).Id, Ct));
        await store.CommitIngestAsync("agent", Id(2), [ValidationOutcome.Valid(Own(60, "second-tag"))], Ct);

        var expected = IndicatorMerger.Merge(Own(40), Own(60, "second-tag"));
        Assert.Equal(expected, await store.GetOwnViewAsync(Ipv4(1).Id, Ct));
        Assert.Equal(expected, (await store.ReadLocalChangesAsync(0, 10, Ct)).Single().Indicator);
        Assert.DoesNotContain("peer-tag", expected.Tags);
        Assert.Contains("peer-tag", (await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!.Tags);
    }

    [Fact]
    public async Task Received_content_is_not_on_the_change_feed_and_has_no_own_view()
    {
        await using var store = await Open();

        await store.CommitReceivedAsync(Envelope(1, FromPeer()), Ct);
        // Even a peer whose observation claims this node's id does not make the content this node's own.
        var forged = FromPeer();
        forged.Id = Ipv4(2).Id;
        forged.Value = Ipv4(2).Value;
        forged.Observations[0].Node = Node;
        await store.CommitReceivedAsync(Envelope(2, forged), Ct);

        Assert.Empty(await store.ReadLocalChangesAsync(0, 10, Ct));
        Assert.Null(await store.GetOwnViewAsync(Ipv4(1).Id, Ct));
        Assert.Null(await store.GetOwnViewAsync(Ipv4(2).Id, Ct));
        Assert.Null(await store.GetOwnViewAsync(Ipv4(3).Id, Ct));
    }

    [Fact]
    public async Task Due_embargoed_indicator_is_read_as_its_own_view()
    {
        await using var store = await Open();
        await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(Own())], Ct);
        await store.CommitReceivedAsync(Envelope(1, FromPeer()), Ct);
        await store.ScheduleEmbargoedAsync("p", Ipv4(1).Id, Now, Ct);

        Assert.Equal(Own(), Assert.Single(await store.ReadDueEmbargoedAsync("p", Now, 10, Ct)));
    }

    [Fact]
    public async Task A_version_6_database_keeps_own_only_rows_as_their_own_view_and_originates_no_mixed_row()
    {
        var path = _dir.File("gateway.db");
        var mixed = Own();
        mixed.Id = Ipv4(2).Id;
        mixed.Value = Ipv4(2).Value;
        mixed.Observations.Add(FromPeer().Observations[0]);
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            connection.Open();
            SchemaMigrations.Migrate(connection, targetVersion: 6);
            using var insert = connection.CreateCommand();
            insert.CommandText =
                $"INSERT INTO indicators (id_key, id, type, value, tlp, confidence, updated_at, blob, local_seq) VALUES ({IndicatorKey.Sql("$id")}, $id, 1, $value, 1, 50, 0, $blob, $seq)";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var value = insert.Parameters.Add("$value", SqliteType.Text);
            var blob = insert.Parameters.Add("$blob", SqliteType.Blob);
            var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
            foreach (var (indicator, localSeq) in new (Indicator, object)[] { (Own(), 1L), (mixed, 2L), (With(FromPeer(), 3), DBNull.Value) })
            {
                (id.Value, value.Value, blob.Value, seq.Value) = (indicator.Id, indicator.Value, Google.Protobuf.MessageExtensions.ToByteArray(indicator), localSeq);
                insert.ExecuteNonQuery();
            }
        }

        await using var store = await Open();

        Assert.Equal(Own(), await store.GetOwnViewAsync(Ipv4(1).Id, Ct));
        Assert.Null(await store.GetOwnViewAsync(Ipv4(2).Id, Ct));
        Assert.Null(await store.GetOwnViewAsync(Ipv4(3).Id, Ct));
        Assert.Equal([Ipv4(1).Id], (await store.ReadLocalChangesAsync(0, 10, Ct)).Select(c => c.Indicator.Id));
        // The mixed row is originated again once an own agent reports it: as that sighting alone.
        var again = Own(30);
        again.Id = Ipv4(2).Id;
        again.Value = Ipv4(2).Value;
        await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(again)], Ct);
        Assert.Equal(again, await store.GetOwnViewAsync(Ipv4(2).Id, Ct));
        Assert.Equal([Ipv4(1).Id, Ipv4(2).Id], (await store.ReadLocalChangesAsync(0, 10, Ct)).Select(c => c.Indicator.Id));
    }

    private static Indicator With(Indicator indicator, int i)
    {
        indicator.Id = Ipv4(i).Id;
        indicator.Value = Ipv4(i).Value;
        return indicator;
    }
}
