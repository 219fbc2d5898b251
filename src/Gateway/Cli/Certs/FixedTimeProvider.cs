namespace CyberCoop.Gateway.Cli.Certs;

/// <summary>A clock stopped at one instant (to check who issued a certificate regardless of today's date).</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => now;
}
