namespace CyberCoop.Gateway.Outbound;

/// <summary>Tells the forwarders that envelopes were written to the outbox.</summary>
internal interface IOutboxSignal
{
    /// <summary>Wakes the forwarders after envelopes were committed to the outbox.</summary>
    void NotifyOutbox();

    /// <summary>Raised when new envelopes wait in the outbox.</summary>
    event Action? OutboxChanged;
}
