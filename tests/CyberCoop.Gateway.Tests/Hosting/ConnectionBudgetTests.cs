using CyberCoop.Gateway.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>
/// The node's connection budget: its size from the open-file limit, connections beyond it closed without reaching
/// TLS, and refusals logged at most once a minute however many there are. The flood itself, against a real process
/// under a real RLIMIT_NOFILE, is FileDescriptorExhaustionTests in the federation tests.
/// </summary>
public sealed class ConnectionBudgetTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-07T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly FakeLogger<ConnectionBudget> _log = new();

    [Theory]
    [InlineData(512L, 250, 134L)] // the test's process: 512 less 250 open less the reserve of 128
    [InlineData(1024L, 250, 646L)]
    [InlineData(65536L, 300, 57044L)] // a reserve of an eighth: 8,192
    [InlineData(300L, 250, 16L)] // never below 16
    public void The_budget_is_the_open_file_limit_less_what_is_open_and_the_reserve(long limit, int openAtStart, long expected) =>
        Assert.Equal(expected, ConnectionBudget.ForLimit(limit, openAtStart));

    [Fact]
    public void Without_a_known_open_file_limit_connections_are_not_bounded()
    {
        var budget = new ConnectionBudget(null, 0, _log, _time);
        Assert.Equal(long.MaxValue, budget.Capacity);
        budget.LogCapacity();
        Assert.Contains("could not be read", _log.LatestRecord.Message, StringComparison.Ordinal);
        Assert.Equal(LogLevel.Warning, _log.LatestRecord.Level);
    }

    [Fact]
    public void This_process_reads_its_own_limit_and_descriptors()
    {
        var budget = ConnectionBudget.ForThisProcess(_log, _time);
        Assert.NotNull(budget.OpenFileLimit);
        Assert.True(budget.OpenAtStart > 3, $"{budget.OpenAtStart} descriptors open");
        Assert.Equal(ConnectionBudget.ForLimit(budget.OpenFileLimit, budget.OpenAtStart), budget.Capacity);
    }

    [Fact]
    public async Task A_connection_beyond_the_budget_is_closed_before_the_rest_of_the_pipeline_and_counted()
    {
        // 16 is the least budget: a limit of 200 with 100 open gives max(16, 200 - 100 - 128).
        var budget = new ConnectionBudget(200, 100, _log, _time);
        Assert.Equal(16, budget.Capacity);
        var gate = new Gate();
        var held = Enumerable.Range(0, 16).Select(_ => budget.OnConnectionAsync(new Connection(), gate.HoldAsync)).ToList();
        Assert.Equal(16, budget.Open);

        await budget.OnConnectionAsync(new Connection(), gate.HoldAsync); // returns at once: nothing to wait for
        Assert.Equal(16, gate.Reached);
        Assert.Equal(1, budget.Refused);
        Assert.Equal(16, budget.Open);

        gate.Open();
        await Task.WhenAll(held);
        Assert.Equal(0, budget.Open);

        // Room again: the next connection reaches the pipeline.
        await budget.OnConnectionAsync(new Connection(), gate.HoldAsync);
        Assert.Equal(17, gate.Reached);
        Assert.Equal(1, budget.Refused);
    }

    [Fact]
    public async Task A_flood_of_refusals_is_logged_once_then_summed_at_most_once_a_minute()
    {
        var budget = new ConnectionBudget(200, 100, _log, _time);
        var release = new TaskCompletionSource();
        var held = Enumerable.Range(0, 16).Select(_ => budget.OnConnectionAsync(new Connection(), _ => release.Task)).ToList();

        for (var i = 0; i < 1000; i++)
        {
            await budget.OnConnectionAsync(new Connection(), _ => Task.CompletedTask);
        }

        var full = _log.Collector.GetSnapshot().Where(r => r.Id.Id == 1054).ToList();
        Assert.Single(full);
        Assert.Contains("1 inbound connections closed at once", full[0].Message, StringComparison.Ordinal);

        // The minute's line sums what was counted since the first, even when no refusal follows it.
        _time.Advance(TimeSpan.FromSeconds(61));
        full = _log.Collector.GetSnapshot().Where(r => r.Id.Id == 1054).ToList();
        Assert.Equal(2, full.Count);
        Assert.Contains("999 inbound connections closed at once", full[1].Message, StringComparison.Ordinal);

        // Refusals within the next minute are only counted, then logged at its end.
        for (var i = 0; i < 5; i++)
        {
            await budget.OnConnectionAsync(new Connection(), _ => Task.CompletedTask);
        }

        Assert.Equal(2, _log.Collector.GetSnapshot().Count(r => r.Id.Id == 1054));
        _time.Advance(TimeSpan.FromSeconds(61));
        full = _log.Collector.GetSnapshot().Where(r => r.Id.Id == 1054).ToList();
        Assert.Equal(3, full.Count);
        Assert.Contains("5 inbound connections closed at once", full[2].Message, StringComparison.Ordinal);
        Assert.Equal(1005, budget.Refused);

        // A quiet minute writes nothing.
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(3, _log.Collector.GetSnapshot().Count(r => r.Id.Id == 1054));

        release.SetResult();
        await Task.WhenAll(held);
    }

    [Fact]
    public async Task One_source_holds_at_most_its_share_in_unfinished_handshakes_and_a_finished_handshake_frees_its_place()
    {
        // 1,000 - 100 open - 128 reserve = 772; an eighth of that per source: 96.
        var budget = new ConnectionBudget(1000, 100, _log, _time);
        Assert.Equal(772, budget.Capacity);
        Assert.Equal(96, budget.PerSourceHandshakes);
        var handshakes = new Gate();
        var flood = Enumerable.Range(0, 96).Select(_ => budget.OnTlsConnectionAsync(From("203.0.113.7"), handshakes.HoldAsync)).ToList();
        await budget.OnTlsConnectionAsync(From("203.0.113.7"), handshakes.HoldAsync);
        await budget.OnTlsConnectionAsync(From("::ffff:203.0.113.7"), handshakes.HoldAsync); // the same source, IPv4-mapped
        Assert.Equal(96, handshakes.Reached);
        Assert.Equal(2, budget.Refused);
        Assert.Contains("because their source already held 96 unfinished TLS handshakes (last: 203.0.113.7)", _log.LatestRecord.Message, StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromSeconds(61)); // the second refusal, counted without a line, is reported at the minute
        Assert.Contains("1 inbound connections closed at once since the last report because their source already held 96 unfinished TLS handshakes (last: 203.0.113.7)",
            _log.LatestRecord.Message, StringComparison.Ordinal);
        Assert.Equal(2, _log.Collector.GetSnapshot().Count(r => r.Id.Id == 1055));

        // Another source is served while the flood holds its share.
        var other = budget.OnTlsConnectionAsync(From("198.51.100.1"), handshakes.HoldAsync);
        Assert.Equal(97, handshakes.Reached);

        // A connection of the flooding source that finishes its handshake no longer counts against the source.
        var established = new TaskCompletionSource();
        var afterTls = budget.OnTlsConnectionAsync(From("203.0.113.8"), c => budget.OnHandshakeDoneAsync(c, _ => established.Task));
        Assert.Equal(98, budget.Open);
        handshakes.Open();
        await Task.WhenAll(flood.Append(other));
        Assert.Equal(1, budget.Open);

        var again = Enumerable.Range(0, 96).Select(_ => budget.OnTlsConnectionAsync(From("203.0.113.7"), c => budget.OnHandshakeDoneAsync(c, _ => established.Task))).ToList();
        await budget.OnTlsConnectionAsync(From("203.0.113.7"), _ => Task.CompletedTask); // after their handshakes, the source holds none unfinished
        Assert.Equal(2, budget.Refused);
        established.SetResult();
        await Task.WhenAll(again.Append(afterTls));
        Assert.Equal(0, budget.Open);
    }

    [Fact]
    public async Task An_ipv6_source_is_its_64_and_a_listener_without_tls_has_no_per_source_share()
    {
        var budget = new ConnectionBudget(300, 100, _log, _time); // capacity 72, 16 per source
        Assert.Equal(16, budget.PerSourceHandshakes);
        var release = new TaskCompletionSource();
        var held = Enumerable.Range(0, 16).Select(i => budget.OnTlsConnectionAsync(From($"2001:db8:0:1::{i + 1:x}"), _ => release.Task)).ToList();
        await budget.OnTlsConnectionAsync(From("2001:db8:0:1:ffff::1"), _ => Task.CompletedTask); // same /64: refused
        Assert.Equal(1, budget.Refused);
        var reached = false;
        await budget.OnTlsConnectionAsync(From("2001:db8:0:2::1"), _ =>
        {
            reached = true; // another /64
            return Task.CompletedTask;
        });
        Assert.True(reached);

        var plain = Enumerable.Range(0, 20).Select(_ => budget.OnConnectionAsync(From("2001:db8:0:1::99"), _ => release.Task)).ToList();
        Assert.Equal(1, budget.Refused);
        Assert.Equal(36, budget.Open);
        release.SetResult();
        await Task.WhenAll(held.Concat(plain));
        Assert.Equal(0, budget.Open);
    }

    // A pipeline that holds each connection until Open.
    private sealed class Gate
    {
        private readonly TaskCompletionSource _open = new();
        private int _reached;

        public int Reached => Volatile.Read(ref _reached);

        public async Task HoldAsync(ConnectionContext connection)
        {
            Interlocked.Increment(ref _reached);
            await _open.Task;
        }

        public void Open() => _open.SetResult();
    }

    private static Connection From(string address) =>
        new() { RemoteEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(address), 40000) };

    private sealed class Connection : ConnectionContext
    {
        public override string ConnectionId { get; set; } = Guid.NewGuid().ToString("N");

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

        public override System.IO.Pipelines.IDuplexPipe Transport { get; set; } = null!;
    }
}
