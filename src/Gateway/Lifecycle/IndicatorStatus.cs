using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Storage;

namespace CyberCoop.Gateway.Lifecycle;

/// <summary>
/// The lifecycle state of one indicator at this node. <see cref="Status"/>: <c>withdrawn</c> when every node whose
/// observation it carries has withdrawn it (a single origin's withdrawal leaves it active while another origin still
/// stands behind it, and an own sighting here keeps it active); else <c>suppressed</c> when an operator suppressed it
/// here; else <c>expired</c> once its valid-until has passed; else <c>active</c>. Only active indicators are exported as
/// such; withdrawn ones are exported only as revoked.
/// </summary>
internal sealed record IndicatorStatus(string Status, IReadOnlyList<WithdrawalRecord> Withdrawals, SuppressionRecord? Suppression)
{
    public const string Active = "active";
    public const string Withdrawn = "withdrawn";
    public const string Suppressed = "suppressed";
    public const string Expired = "expired";

    /// <summary>True unless the indicator is active.</summary>
    public bool IsRevokedOrInactive => Status != Active;

    /// <summary>The state of <paramref name="indicator"/> from what is recorded for it.</summary>
    public static IndicatorStatus Evaluate(Indicator indicator, IReadOnlyList<WithdrawalRecord>? withdrawals, SuppressionRecord? suppression, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        withdrawals ??= [];
        string status;
        if (withdrawals.Count > 0 && indicator.Observations.Count > 0
            && indicator.Observations.All(o => withdrawals.Any(w => w.Origin == o.Node)))
        {
            status = Withdrawn;
        }
        else if (suppression is not null)
        {
            status = Suppressed;
        }
        else if (indicator.ValidUntil is { } until && until.ToDateTimeOffset() <= now)
        {
            status = Expired;
        }
        else
        {
            status = Active;
        }

        return new IndicatorStatus(status, withdrawals, suppression);
    }

    /// <summary>Reads what is recorded for <paramref name="indicator"/> and evaluates it.</summary>
    public static async Task<IndicatorStatus> ReadAsync(ILifecycleStore store, Indicator indicator, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(indicator);
        var withdrawals = await store.ReadWithdrawalsAsync(indicator.Id, ct).ConfigureAwait(false);
        var suppression = await store.ReadSuppressionAsync(indicator.Id, ct).ConfigureAwait(false);
        return Evaluate(indicator, withdrawals, suppression, now);
    }

    /// <summary>Writes <c>status</c>, <c>withdrawals</c> and <c>suppression</c> properties into the current JSON object.</summary>
    public void Write(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("status", Status);
        writer.WriteStartArray("withdrawals");
        foreach (var withdrawal in Withdrawals)
        {
            writer.WriteStartObject();
            writer.WriteString("origin", withdrawal.Origin);
            writer.WriteString("reason", withdrawal.Reason);
            writer.WriteString("withdrawn_at", withdrawal.WithdrawnAt);
            writer.WriteString("recorded_at", withdrawal.RecordedAt);
            writer.WriteString("received_from", withdrawal.Sender);
            writer.WriteString("withdrawal_id", Convert.ToHexStringLower(withdrawal.WithdrawalId));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (Suppression is { } suppression)
        {
            writer.WriteStartObject("suppression");
            writer.WriteString("reason", suppression.Reason);
            writer.WriteString("suppressed_at", suppression.SuppressedAt);
            writer.WriteEndObject();
        }
    }
}
