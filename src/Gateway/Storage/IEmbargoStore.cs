using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>Indicators held back from a peer until a time (outbound policy embargo).</summary>
internal interface IEmbargoStore
{
    /// <summary>Holds <paramref name="indicatorId"/> back from <paramref name="peer"/> until <paramref name="until"/>.</summary>
    Task ScheduleEmbargoedAsync(string peer, string indicatorId, DateTimeOffset until, CancellationToken ct);

    /// <summary>Removes and returns the embargoes that are due.</summary>
    Task<IReadOnlyList<EmbargoedItem>> TakeDueEmbargoedAsync(DateTimeOffset now, CancellationToken ct, int limit = 10_000);

    /// <summary>Embargoed indicators of <paramref name="peer"/> due at <paramref name="now"/>, as origin views (the dispatch commit removes them).</summary>
    Task<IReadOnlyList<Indicator>> ReadDueEmbargoedAsync(string peer, DateTimeOffset now, int limit, CancellationToken ct);
}
