namespace CyberCoop.Gateway.Outbound;

/// <summary>The wake-up between the writers of the outbox and the forwarders.</summary>
internal sealed class OutboxSignal : IOutboxSignal
{
    /// <inheritdoc />
    public event Action? OutboxChanged;

    /// <inheritdoc />
    public void NotifyOutbox() => OutboxChanged?.Invoke();
}
